// An answer's rows as a sortable table, and its SQL with the syntax marked.

import { el, formatNumber } from "./dom.js";

export function renderTable(rows, meta) {
  const wrap = el("div", { class: "table-block" });
  const columns = meta && meta.column_metadata ? meta.column_metadata.map((c) => c.name) : Object.keys(rows[0] || {});
  const sort = { column: null, descending: false };
  const table = el("table", { "aria-label": "Data" });
  const draw = () => {
    const sorted = [...rows];
    if (sort.column) {
      sorted.sort((a, b) => compare(a[sort.column], b[sort.column]) * (sort.descending ? -1 : 1));
    }
    const head = el("tr");
    for (const column of columns) {
      const button = el("button", { type: "button" }, column + (sort.column === column ? (sort.descending ? " ▼" : " ▲") : ""));
      button.addEventListener("click", () => {
        sort.descending = sort.column === column ? !sort.descending : false;
        sort.column = column;
        draw();
      });
      const th = el("th", { scope: "col" });
      th.append(button);
      head.append(th);
    }
    const body = sorted.map((row) => {
      const tr = el("tr");
      for (const column of columns) {
        const value = row[column];
        tr.append(el("td", { class: typeof value === "number" ? "num" : "" }, value === null || value === undefined ? "" : typeof value === "number" ? formatNumber(value) : String(value)));
      }
      return tr;
    });
    table.replaceChildren(el("thead", {}, head), el("tbody", {}, ...body));
  };
  draw();
  const scroll = el("div", { class: "table-wrap" });
  scroll.append(table);
  wrap.append(scroll);
  if (meta && meta.truncated) {
    wrap.append(el("p", { class: "cap-note" }, `Showing the first ${meta.row_cap} rows; the result had more.`));
  } else if (meta) {
    wrap.append(el("p", { class: "cap-note" }, `${meta.row_count} row${meta.row_count === 1 ? "" : "s"}`));
  }
  return wrap;
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a ?? "").localeCompare(String(b ?? ""));
}

const SQL_KEYWORDS = /\b(SELECT|FROM|WHERE|GROUP|BY|ORDER|LIMIT|AND|OR|NOT|AS|IN|IS|NULL|WITH|JOIN|LEFT|RIGHT|INNER|ON|DISTINCT|HAVING|CASE|WHEN|THEN|ELSE|END|DESC|ASC|UNION|ALL)\b/gi;

/// SQL as HTML with keywords, functions, strings and numbers marked (input is escaped first).
export function highlightSql(sql) {
  const escaped = sql.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  return escaped
    .split(/('(?:[^']|'')*')/g)
    .map((part, i) => {
      if (i % 2 === 1) return `<span class="str">${part}</span>`;
      return part
        .replace(/\b(\d+(?:\.\d+)?)\b/g, '<span class="num">$1</span>')
        .replace(/\b([a-z_]+)(?=\()/gi, '<span class="fn">$1</span>')
        .replace(SQL_KEYWORDS, (k) => `<span class="kw">${k}</span>`);
    })
    .join("");
}
