"""The libraries data scientists use: pandas (CSV, Parquet, history), zarr v3 and xarray,
Dask on a local cluster of processes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from anaconda_storage_fsspec import AnacondaFileSystem


@pytest.fixture
def options(account: object) -> dict[str, str]:
    return account.options  # type: ignore[attr-defined, no-any-return]


def test_pandas_csv_round_trip(project: str, options: dict[str, str]) -> None:
    df = pd.DataFrame({"city": ["Austin", "Berlin"], "sales": [1.5, 2.25]})
    url = f"anaconda://{project}/2024/q1.csv"
    df.to_csv(url, index=False, storage_options=options)
    pd.testing.assert_frame_equal(pd.read_csv(url, storage_options=options), df)


def test_pandas_parquet_round_trip(project: str, options: dict[str, str]) -> None:
    df = pd.DataFrame({"x": np.arange(10_000), "y": np.random.default_rng(0).random(10_000)})
    url = f"anaconda://{project}/data.parquet"
    df.to_parquet(url, storage_options=options, engine="pyarrow")
    back = pd.read_parquet(url, storage_options=options, engine="pyarrow")
    pd.testing.assert_frame_equal(back, df)
    cols = pd.read_parquet(url, storage_options=options, columns=["y"])
    assert list(cols.columns) == ["y"]


def test_history_through_pandas(
    fs: AnacondaFileSystem, project: str, options: dict[str, str]
) -> None:
    url = f"anaconda://{project}/prices.csv"
    owner, name = project.split("/")
    pd.DataFrame({"price": [1]}).to_csv(url, index=False, storage_options=options)
    checkpoint = fs.checkpoint(project)
    time.sleep(1.1)  # time points have a resolution of one second
    between = datetime.now(timezone.utc) - timedelta(seconds=0.5)
    time.sleep(1.1)
    pd.DataFrame({"price": [2]}).to_csv(url, index=False, storage_options=options)

    def price(address: str) -> int:
        return int(pd.read_csv(address, storage_options=options).price[0])

    assert price(url) == 2
    assert price(f"{url}#-1") == 1  # the previous revision
    assert price(f"anaconda://{owner}/{name}#-1/prices.csv") == 1  # the last checkpoint
    assert price(f"anaconda://{owner}/{name}#{checkpoint['id']}/prices.csv") == 1
    assert price(f"anaconda://{owner}/{name}#{between:%Y-%m-%dT%H:%M:%S}/prices.csv") == 1
    with pytest.raises(PermissionError, match="read-only"):
        pd.DataFrame({"price": [3]}).to_csv(f"{url}#-1", storage_options=options)


def test_zarr_v3_and_xarray(fs: AnacondaFileSystem, project: str, options: dict[str, str]) -> None:
    zarr = pytest.importorskip("zarr", minversion="3")
    xr = pytest.importorskip("xarray")
    url = f"anaconda://{project}/cube.zarr"
    store = zarr.storage.FsspecStore.from_url(url, storage_options=options)
    root = zarr.open_group(store, mode="w")
    array = root.create_array("t", shape=(40, 30), chunks=(10, 10), dtype="f8")
    array[:] = np.arange(1200, dtype="f8").reshape(40, 30)
    again = zarr.open_group(
        zarr.storage.FsspecStore.from_url(url, storage_options=options, read_only=True), mode="r"
    )
    np.testing.assert_array_equal(again["t"][5:15, 7], np.arange(1200).reshape(40, 30)[5:15, 7])
    assert len(fs.find(f"{project}/cube.zarr")) >= 12  # chunks and metadata: real files

    ds = xr.Dataset(
        {"temp": (("time", "x"), np.random.default_rng(1).random((24, 8)))},
        coords={"time": pd.date_range("2024-01-01", periods=24, freq="h"), "x": np.arange(8)},
    )
    xurl = f"anaconda://{project}/weather.zarr"
    ds.to_zarr(xurl, storage_options=options, mode="w", consolidated=False)
    back = xr.open_zarr(xurl, storage_options=options, consolidated=False)
    xr.testing.assert_allclose(back.load(), ds)


@pytest.fixture(scope="module")
def cluster() -> Iterator[object]:
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
        ) as local,
        distributed.Client(local) as client,
    ):
        yield client


@pytest.mark.slow
# Dask's read_parquet uses reset_index and set_index with inplace=True, which pandas 3.1
# deprecates (not ours to fix; an error here with filterwarnings = error).
@pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame")
def test_dask_dataframe_on_a_process_cluster(
    cluster: object, fs: AnacondaFileSystem, project: str, options: dict[str, str]
) -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = pd.DataFrame({"k": np.arange(1000) % 7, "v": np.arange(1000, dtype="f8")})
    for i in range(4):
        part = frame.iloc[i * 250 : (i + 1) * 250]
        part.to_csv(f"anaconda://{project}/in/part-{i}.csv", index=False, storage_options=options)
    ddf = dd.read_csv(f"anaconda://{project}/in/*.csv", storage_options=options)
    assert ddf.npartitions == 4
    totals = ddf.groupby("k").v.sum().compute()
    pd.testing.assert_series_equal(
        totals.sort_index(), frame.groupby("k").v.sum(), check_names=False
    )
    # Written by the workers, each through its own session.
    ddf.assign(w=ddf.v * 2).to_parquet(f"anaconda://{project}/out", storage_options=options)
    back = dd.read_parquet(f"anaconda://{project}/out", storage_options=options).compute()
    assert back.w.sum() == frame.v.sum() * 2
    assert len(fs.glob(f"{project}/out/*.parquet")) == 4
