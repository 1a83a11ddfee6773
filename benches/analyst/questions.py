"""The benchmark's questions, each with its answer computed by pandas from the same CSV.

Questions are what an analyst asks every day, written for these datasets without looking at
how Skein plans them. `follows=True` asks in the previous question's thread (a follow-up).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

from grade import grade  # noqa: F401  (re-exported for run.py)

DATA = Path(__file__).parent / "data"
DATES = {"seattle_weather": ["date"], "economics": ["date"], "iowa_electricity": ["year"]}


def load(name):
    return pd.read_csv(DATA / f"{name}.csv", parse_dates=DATES.get(name, []))


@dataclass
class Question:
    dataset: str
    prompt: str
    kind: str
    expected: Callable
    follows: bool = False


QUESTIONS = []


def q(dataset, prompt, kind, expected, follows=False):
    QUESTIONS.append(Question(dataset, prompt, kind, expected, follows))


def by_year(column):
    return lambda d: d[column].dt.year


def month_key(d, column="date"):
    return d[column].dt.strftime("%Y-%m")


def quarter_key(d, column="date"):
    return d[column].dt.year.astype(str) + "-Q" + d[column].dt.quarter.astype(str)


# Palmer penguins: one row per penguin; every measure is a size, so sums mean nothing.
P = "penguins"
q(P, "how many penguins are there", "scalar", lambda d: len(d))
q(P, "how many penguins per species", "table", lambda d: d.groupby("species").size())
q(P, "average body mass by species", "table", lambda d: d.groupby("species").body_mass_g.mean())
q(P, "which island has the most penguins", "ranked",
  lambda d: d.groupby("island").size().sort_values(ascending=False).head(1))
q(P, "average flipper length of Gentoo penguins", "scalar",
  lambda d: d[d.species == "Gentoo"].flipper_length_mm.mean())
q(P, "what is the maximum body mass", "scalar", lambda d: d.body_mass_g.max())
q(P, "heaviest penguin", "row", lambda d: ("Gentoo", d.body_mass_g.max()))
q(P, "median bill length by species", "table", lambda d: d.groupby("species").bill_length_mm.median())
q(P, "number of penguins by species and sex", "table", lambda d: d.groupby(["species", "sex"]).size())
q(P, "how many female penguins are there", "scalar", lambda d: (d.sex == "female").sum())
q(P, "average body mass of male penguins by species", "table",
  lambda d: d[d.sex == "male"].groupby("species").body_mass_g.mean())
q(P, "how many penguins have a body mass over 5000 g", "scalar", lambda d: (d.body_mass_g > 5000).sum())
q(P, "average bill depth on Biscoe island", "scalar", lambda d: d[d.island == "Biscoe"].bill_depth_mm.mean())
q(P, "how many species are there", "scalar", lambda d: d.species.nunique())
q(P, "number of penguins per year", "table", lambda d: d.groupby("year").size())
q(P, "average flipper length by year", "table", lambda d: d.groupby("year").flipper_length_mm.mean())
q(P, "what is the smallest body mass", "scalar", lambda d: d.body_mass_g.min())
q(P, "average body mass of penguins with a flipper length of at least 210 mm", "scalar",
  lambda d: d[d.flipper_length_mm >= 210].body_mass_g.mean())
q(P, "how many Adelie penguins live on Dream island", "scalar",
  lambda d: ((d.species == "Adelie") & (d.island == "Dream")).sum())
q(P, "minimum bill length by island", "table", lambda d: d.groupby("island").bill_length_mm.min())
q(P, "what share of penguins are Gentoo", "share", lambda d: (d.species == "Gentoo").mean())
q(P, "top 5 heaviest penguins", "rows", lambda d: list(d.body_mass_g.sort_values(ascending=False).head(5)))
q(P, "which species has the longest average flipper length", "ranked",
  lambda d: d.groupby("species").flipper_length_mm.mean().sort_values(ascending=False).head(1))
q(P, "average body mass of Chinstrap penguins in 2008", "scalar",
  lambda d: d[(d.species == "Chinstrap") & (d.year == 2008)].body_mass_g.mean())
q(P, "bill length by island", "table", lambda d: d.groupby("island").bill_length_mm.mean())
q(P, "average body mass by species", "table", lambda d: d.groupby("species").body_mass_g.mean())
q(P, "now only for female penguins", "table",
  lambda d: d[d.sex == "female"].groupby("species").body_mass_g.mean(), follows=True)

# Seattle weather: one row per day.
W = "seattle_weather"
q(W, "total precipitation by year", "table", lambda d: d.groupby(by_year("date")(d)).precipitation.sum())
q(W, "average max temperature by month in 2013", "table",
  lambda d: d[d.date.dt.year == 2013].groupby(month_key(d[d.date.dt.year == 2013])).temp_max.mean())
q(W, "how many rainy days were there", "scalar", lambda d: (d.weather == "rain").sum())
q(W, "number of days by weather", "table", lambda d: d.groupby("weather").size())
q(W, "what was the hottest day", "row",
  lambda d: (d.loc[d.temp_max.idxmax()].date.strftime("%Y-%m-%d"), d.temp_max.max()))
q(W, "top 5 windiest days", "rows", lambda d: list(d.wind.sort_values(ascending=False).head(5)))
q(W, "average temp_min in January 2013", "scalar",
  lambda d: d[d.date.dt.strftime("%Y-%m") == "2013-01"].temp_min.mean())
q(W, "total precipitation in 2014", "scalar", lambda d: d[d.date.dt.year == 2014].precipitation.sum())
q(W, "how many days had more than 20 mm of precipitation", "scalar", lambda d: (d.precipitation > 20).sum())
q(W, "average wind speed by weather", "table", lambda d: d.groupby("weather").wind.mean())
q(W, "which year had the most precipitation", "ranked",
  lambda d: d.groupby(by_year("date")(d)).precipitation.sum().sort_values(ascending=False).head(1))
q(W, "average max temperature by month of the year", "table",
  lambda d: d.groupby(d.date.dt.month).temp_max.mean())
q(W, "max temperature on 2014-07-04", "scalar", lambda d: d[d.date == "2014-07-04"].temp_max.iloc[0])
q(W, "average precipitation per day in 2015", "scalar", lambda d: d[d.date.dt.year == 2015].precipitation.mean())
q(W, "how many snowy days were there in 2012", "scalar",
  lambda d: ((d.weather == "snow") & (d.date.dt.year == 2012)).sum())
q(W, "what is the lowest temp_min", "scalar", lambda d: d.temp_min.min())
q(W, "number of days with a max temperature below 5", "scalar", lambda d: (d.temp_max < 5).sum())
q(W, "average max temperature from June 2014 to August 2014", "scalar",
  lambda d: d[(d.date >= "2014-06-01") & (d.date <= "2014-08-31")].temp_max.mean())
q(W, "total precipitation by weather", "table", lambda d: d.groupby("weather").precipitation.sum())
q(W, "number of sun days by year", "table",
  lambda d: d[d.weather == "sun"].groupby(by_year("date")(d[d.weather == "sun"])).size())
q(W, "average max temperature by day of week", "table", lambda d: d.groupby(d.date.dt.dayofweek).temp_max.mean())
q(W, "temp_max by month in 2012", "table",
  lambda d: d[d.date.dt.year == 2012].groupby(month_key(d[d.date.dt.year == 2012])).temp_max.mean())
q(W, "wind by year", "table", lambda d: d.groupby(by_year("date")(d)).wind.mean())
q(W, "how many days of fog were there", "scalar", lambda d: (d.weather == "fog").sum())
q(W, "median wind speed", "scalar", lambda d: d.wind.median())
q(W, "total precipitation by month in 2014", "table",
  lambda d: d[d.date.dt.year == 2014].groupby(month_key(d[d.date.dt.year == 2014])).precipitation.sum())
q(W, "now for 2015", "table",
  lambda d: d[d.date.dt.year == 2015].groupby(month_key(d[d.date.dt.year == 2015])).precipitation.sum(),
  follows=True)

# Iowa electricity: one row per source and year; generation adds up.
E = "iowa_electricity"
q(E, "total net generation by year", "table", lambda d: d.groupby(by_year("year")(d)).net_generation.sum())
q(E, "net generation by source", "table", lambda d: d.groupby("source").net_generation.sum())
q(E, "renewables generation by year", "table",
  lambda d: d[d.source == "Renewables"].groupby(by_year("year")(d[d.source == "Renewables"])).net_generation.sum())
q(E, "which source generated the most in 2017", "ranked",
  lambda d: d[d.year.dt.year == 2017].groupby("source").net_generation.sum().sort_values(ascending=False).head(1))
q(E, "total generation in 2010", "scalar", lambda d: d[d.year.dt.year == 2010].net_generation.sum())
q(E, "what share of generation came from renewables in 2017", "share",
  lambda d: d[(d.year.dt.year == 2017) & (d.source == "Renewables")].net_generation.sum()
  / d[d.year.dt.year == 2017].net_generation.sum())
q(E, "nuclear energy generation in 2005", "scalar",
  lambda d: d[(d.year.dt.year == 2005) & (d.source == "Nuclear Energy")].net_generation.sum())
q(E, "average yearly generation from fossil fuels", "scalar",
  lambda d: d[d.source == "Fossil Fuels"].net_generation.mean())
q(E, "by how much did renewables generation change between 2001 and 2017", "scalar",
  lambda d: d[(d.source == "Renewables") & (d.year.dt.year == 2017)].net_generation.sum()
  - d[(d.source == "Renewables") & (d.year.dt.year == 2001)].net_generation.sum())
q(E, "which year had the highest total generation", "ranked",
  lambda d: d.groupby(by_year("year")(d)).net_generation.sum().sort_values(ascending=False).head(1))
q(E, "which year had the lowest renewables generation", "ranked",
  lambda d: d[d.source == "Renewables"].groupby(by_year("year")(d[d.source == "Renewables"]))
  .net_generation.sum().sort_values().head(1))
q(E, "total generation by source in 2015", "table",
  lambda d: d[d.year.dt.year == 2015].groupby("source").net_generation.sum())
q(E, "how many years of data are there", "scalar", lambda d: d.year.nunique())
q(E, "net generation by year for fossil fuels and renewables", "table",
  lambda d: d[d.source.isin(["Fossil Fuels", "Renewables"])]
  .groupby([by_year("year")(d[d.source.isin(["Fossil Fuels", "Renewables"])]), "source"]).net_generation.sum())
q(E, "total generation since 2010", "scalar", lambda d: d[d.year.dt.year >= 2010].net_generation.sum())
q(E, "nuclear energy generation by year between 2005 and 2010", "table",
  lambda d: (lambda x: x.groupby(x.year.dt.year).net_generation.sum())(
      d[(d.source == "Nuclear Energy") & d.year.dt.year.between(2005, 2010)]))
q(E, "average net generation by source", "table", lambda d: d.groupby("source").net_generation.mean())
q(E, "top 2 sources by total generation", "ranked",
  lambda d: d.groupby("source").net_generation.sum().sort_values(ascending=False).head(2))
q(E, "maximum yearly generation from renewables", "scalar",
  lambda d: d[d.source == "Renewables"].net_generation.max())
q(E, "total generation in 2001", "scalar", lambda d: d[d.year.dt.year == 2001].net_generation.sum())
q(E, "total generation by year", "table", lambda d: d.groupby(by_year("year")(d)).net_generation.sum())
q(E, "only renewables", "table",
  lambda d: d[d.source == "Renewables"].groupby(by_year("year")(d[d.source == "Renewables"])).net_generation.sum(),
  follows=True)

# Fuel economy: one row per car model variant; mileage and sizes never add up.
M = "mpg"
q(M, "how many cars are there", "scalar", lambda d: len(d))
q(M, "average highway mpg by class", "table", lambda d: d.groupby("class").hwy.mean())
q(M, "which manufacturer has the most cars", "ranked",
  lambda d: d.groupby("manufacturer").size().sort_values(ascending=False).head(1))
q(M, "average city mpg by year", "table", lambda d: d.groupby("year").cty.mean())
q(M, "how many ford cars are there", "scalar", lambda d: (d.manufacturer == "ford").sum())
q(M, "average highway mpg of cars with 4 cylinders", "scalar", lambda d: d[d.cyl == 4].hwy.mean())
q(M, "number of cars by drive", "table", lambda d: d.groupby("drv").size())
q(M, "what is the best highway mpg", "scalar", lambda d: d.hwy.max())
q(M, "top 5 manufacturers by average highway mpg", "ranked",
  lambda d: d.groupby("manufacturer").hwy.mean().sort_values(ascending=False).head(5))
q(M, "average displacement by cylinders", "table", lambda d: d.groupby("cyl").displ.mean())
q(M, "how many models are there", "scalar", lambda d: d.model.nunique())
q(M, "how many manufacturers are there", "scalar", lambda d: d.manufacturer.nunique())
q(M, "how many cars have a highway mpg above 30", "scalar", lambda d: (d.hwy > 30).sum())
q(M, "average city mpg of suv cars", "scalar", lambda d: d[d["class"] == "suv"].cty.mean())
q(M, "median highway mpg", "scalar", lambda d: d.hwy.median())
q(M, "lowest city mpg by manufacturer", "table", lambda d: d.groupby("manufacturer").cty.min())
q(M, "average highway mpg by manufacturer in 2008", "table",
  lambda d: d[d.year == 2008].groupby("manufacturer").hwy.mean())
q(M, "which class has the lowest average city mpg", "ranked",
  lambda d: d.groupby("class").cty.mean().sort_values().head(1))
q(M, "number of cars by fuel type", "table", lambda d: d.groupby("fl").size())
q(M, "average highway mpg of toyota cars by year", "table",
  lambda d: d[d.manufacturer == "toyota"].groupby("year").hwy.mean())
q(M, "how many compact cars are there", "scalar", lambda d: (d["class"] == "compact").sum())
q(M, "average engine displacement", "scalar", lambda d: d.displ.mean())
q(M, "which car has the largest engine", "row", lambda d: ("chevrolet", d.displ.max()))
q(M, "how many cars have more than 6 cylinders", "scalar", lambda d: (d.cyl > 6).sum())
q(M, "number of cars by class and year", "table", lambda d: d.groupby(["class", "year"]).size())
q(M, "highway mpg by class", "table", lambda d: d.groupby("class").hwy.mean())
q(M, "average highway mpg for cars with a displacement between 2 and 3 litres", "scalar",
  lambda d: d[d.displ.between(2, 3)].hwy.mean())
q(M, "how many audi cars are from 1999", "scalar", lambda d: ((d.manufacturer == "audi") & (d.year == 1999)).sum())
q(M, "top 3 models by average city mpg", "ranked",
  lambda d: d.groupby("model").cty.mean().sort_values(ascending=False).head(3))
q(M, "average highway mpg by manufacturer", "table", lambda d: d.groupby("manufacturer").hwy.mean())
q(M, "only for 2008", "table", lambda d: d[d.year == 2008].groupby("manufacturer").hwy.mean(), follows=True)

# Diamonds: one row per diamond, 53,940 rows (more than the 1,000-row cap).
D = "diamonds"
q(D, "how many diamonds are there", "scalar", lambda d: len(d))
q(D, "average price by cut", "table", lambda d: d.groupby("cut").price.mean())
q(D, "average price by color", "table", lambda d: d.groupby("color").price.mean())
q(D, "most expensive diamond", "row", lambda d: ("Premium", d.price.max()))
q(D, "number of diamonds by clarity", "table", lambda d: d.groupby("clarity").size())
q(D, "total price of all diamonds", "scalar", lambda d: d.price.sum())
q(D, "average carat of Ideal diamonds", "scalar", lambda d: d[d.cut == "Ideal"].carat.mean())
q(D, "how many diamonds cost more than 10000", "scalar", lambda d: (d.price > 10000).sum())
q(D, "average price of diamonds over 2 carats", "scalar", lambda d: d[d.carat > 2].price.mean())
q(D, "median price", "scalar", lambda d: d.price.median())
q(D, "which cut has the highest average price", "ranked",
  lambda d: d.groupby("cut").price.mean().sort_values(ascending=False).head(1))
q(D, "average price by cut and color", "table", lambda d: d.groupby(["cut", "color"]).price.mean())
q(D, "top 5 most expensive diamonds", "rows", lambda d: list(d.price.sort_values(ascending=False).head(5)))
q(D, "how many diamonds have color D", "scalar", lambda d: (d.color == "D").sum())
q(D, "minimum price by clarity", "table", lambda d: d.groupby("clarity").price.min())
q(D, "average depth", "scalar", lambda d: d.depth.mean())
q(D, "what is the largest carat", "scalar", lambda d: d.carat.max())
q(D, "how many Premium diamonds have clarity IF", "scalar",
  lambda d: ((d.cut == "Premium") & (d.clarity == "IF")).sum())
q(D, "average price of Very Good diamonds", "scalar", lambda d: d[d.cut == "Very Good"].price.mean())
q(D, "number of diamonds by cut", "table", lambda d: d.groupby("cut").size())
q(D, "average table by cut", "table", lambda d: d.groupby("cut")["table"].mean())
q(D, "total carats by color", "table", lambda d: d.groupby("color").carat.sum())
q(D, "price by cut", "table", lambda d: d.groupby("cut").price.mean())
q(D, "cheapest Ideal diamond price", "scalar", lambda d: d[d.cut == "Ideal"].price.min())
q(D, "average price by clarity", "table", lambda d: d.groupby("clarity").price.mean())
q(D, "only for color D", "table", lambda d: d[d.color == "D"].groupby("clarity").price.mean(), follows=True)

# US economic indicators: one row per month; levels and rates, none of which add up.
U = "economics"
q(U, "average unemployment by year", "table", lambda d: d.groupby(by_year("date")(d)).unemploy.mean())
q(U, "what is the highest savings rate", "scalar", lambda d: d.psavert.max())
q(U, "number of unemployed in January 2005", "scalar", lambda d: d[month_key(d) == "2005-01"].unemploy.iloc[0])
q(U, "average pce in 2000", "scalar", lambda d: d[d.date.dt.year == 2000].pce.mean())
q(U, "which month had the highest unemployment", "row",
  lambda d: (month_key(d)[d.unemploy.idxmax()], d.unemploy.max()))
q(U, "average savings rate by year since 2000", "table",
  lambda d: (lambda x: x.groupby(x.date.dt.year).psavert.mean())(d[d.date.dt.year >= 2000]))
q(U, "maximum median unemployment duration", "scalar", lambda d: d.uempmed.max())
q(U, "average unemployment duration by year from 2000 to 2004", "table",
  lambda d: (lambda x: x.groupby(x.date.dt.year).uempmed.mean())(d[d.date.dt.year.between(2000, 2004)]))
q(U, "savings rate by year", "table", lambda d: d.groupby(by_year("date")(d)).psavert.mean())
q(U, "what is the lowest savings rate", "scalar", lambda d: d.psavert.min())
q(U, "average pce by month in 2006", "table",
  lambda d: (lambda x: x.groupby(month_key(x)).pce.mean())(d[d.date.dt.year == 2006]))
q(U, "how many months of data are there", "scalar", lambda d: len(d))
q(U, "top 5 months by savings rate", "rows", lambda d: list(d.psavert.sort_values(ascending=False).head(5)))
q(U, "lowest number of unemployed in the 1990s", "scalar",
  lambda d: d[d.date.dt.year.between(1990, 1999)].unemploy.min())
q(U, "average unemployed by quarter in 2006", "table",
  lambda d: (lambda x: x.groupby(quarter_key(x)).unemploy.mean())(d[d.date.dt.year == 2006]))
q(U, "average population by year from 2001 to 2005", "table",
  lambda d: (lambda x: x.groupby(x.date.dt.year)["pop"].mean())(d[d.date.dt.year.between(2001, 2005)]))
q(U, "average pce by year", "table", lambda d: d.groupby(by_year("date")(d)).pce.mean())
q(U, "when was the savings rate lowest", "row",
  lambda d: (month_key(d)[d.psavert.idxmin()], d.psavert.min()))
q(U, "median savings rate", "scalar", lambda d: d.psavert.median())
q(U, "average unemployed by month of the year", "table", lambda d: d.groupby(d.date.dt.month).unemploy.mean())
q(U, "average savings rate in 1980", "scalar", lambda d: d[d.date.dt.year == 1980].psavert.mean())
q(U, "how many months had a savings rate below 5", "scalar", lambda d: (d.psavert < 5).sum())
q(U, "average savings rate by year", "table", lambda d: d.groupby(by_year("date")(d)).psavert.mean())
q(U, "only since 2000", "table",
  lambda d: (lambda x: x.groupby(x.date.dt.year).psavert.mean())(d[d.date.dt.year >= 2000]), follows=True)
