// DOM helpers: elements, icons, toasts, number formatting and marking search words.

import { $ } from "./state.js";

/// An element with attributes and children (strings become text: never HTML).
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== "") node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : String(child));
  return node;
}

function svgEl(tag, attributes) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
  return node;
}

const ICONS = {
  // The outlines of Lucide's icons of these names (ISC licence): three paths need no icon library.
  "thumbs-up": "M7 10v12M15 5.88 14 10h5.83a2 2 0 0 1 1.92 2.56l-2.33 8A2 2 0 0 1 17.5 22H4a2 2 0 0 1-2-2v-8a2 2 0 0 1 2-2h2.76a2 2 0 0 0 1.79-1.11L12 2a3.13 3.13 0 0 1 3 3.88Z",
  "thumbs-down": "M17 14V2M9 18.12 10 14H4.17a2 2 0 0 1-1.92-2.56l2.33-8A2 2 0 0 1 6.5 2H20a2 2 0 0 1 2 2v8a2 2 0 0 1-2 2h-2.76a2 2 0 0 0-1.79 1.11L12 22a3.13 3.13 0 0 1-3-3.88Z",
  download: "M21 15v4a2 2 0 0 1-2 2H5a2 2 0 0 1-2-2v-4M7 10l5 5 5-5M12 15V3",
};

/// A decorative icon (its button carries the label).
export function icon(name) {
  const svg = svgEl("svg", {
    viewBox: "0 0 24 24", width: "16", height: "16", fill: "none", stroke: "currentColor",
    "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", class: "icon",
  });
  svg.append(svgEl("path", { d: ICONS[name] }));
  return svg;
}

export function toast(text, isError = false) {
  const note = el("div", { class: `toast${isError ? " error" : ""}`, role: isError ? "alert" : "status" }, text);
  $("toasts").append(note);
  setTimeout(() => note.remove(), 8000);
}

export function toastError(error) {
  toast(error.message || String(error), true);
}

export function formatNumber(value) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value ?? "");
  return value.toLocaleString(undefined, { maximumFractionDigits: 2 });
}

/// A number in its unit, as the answer's words write it: "$1,234.56", "12.5 %", "3 kg".
export function formatValue(value, unit) {
  if (typeof value !== "number" || !Number.isFinite(value)) return String(value ?? "");
  if (unit === "USD") {
    return value.toLocaleString(undefined, { style: "currency", currency: "USD" });
  }
  return unit ? `${formatNumber(value)} ${unit}` : formatNumber(value);
}

/// `text` as nodes with the query's words marked.
export function marked(text, query) {
  const words = query.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 3);
  if (!words.length) return [text];
  const pattern = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|")})`, "giu");
  return text.split(pattern).map((part, i) => (i % 2 ? el("mark", {}, part) : part));
}

/// Offers a file named `name` for download: `content` (text of MIME `type`), or, without a
/// type, the file at the URL `content` (a data: URL).
export function download(name, content, type) {
  const url = type ? URL.createObjectURL(new Blob([content], { type })) : content;
  const link = el("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  if (type) setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
