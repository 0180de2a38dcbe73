"""The pipeline's second core: the models fitted in a worker process give the same analysis."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pandas as pd
import pytest

from clv_xl.analysis import analyze
from clv_xl.orders import load_orders
from clv_xl.pipeline import run_report
from clv_xl.sample import sample_orders, write_sample_orders


@pytest.fixture(scope="module")
def orders():
    return load_orders(sample_orders(customers=300, seed=5))


@pytest.fixture(scope="module")
def in_process(orders):
    return analyze(orders)


def same_analysis(one, other) -> None:
    pd.testing.assert_frame_equal(one.customers, other.customers)
    pd.testing.assert_frame_equal(one.segments, other.segments)
    pd.testing.assert_frame_equal(one.prediction.parameters, other.prediction.parameters)
    pd.testing.assert_frame_equal(one.prediction.holdout, other.prediction.holdout)
    assert one.customers["predicted_clv_12m"].notna().all()


def spawn_pool(**options) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), **options)


def test_models_fitted_in_a_worker_process_give_the_same_analysis(orders, in_process):
    with spawn_pool() as pool:
        same_analysis(analyze(orders, executor=pool), in_process)


def test_a_broken_or_closed_worker_means_fitting_in_this_process(orders, in_process):
    with spawn_pool(initializer=int, initargs=("not a number",)) as broken:  # dies at start
        same_analysis(analyze(orders, executor=broken), in_process)
    closed = spawn_pool()
    closed.shutdown()
    same_analysis(analyze(orders, executor=closed), in_process)


def test_the_report_with_and_without_its_worker(tmp_path):
    path = tmp_path / "orders.xlsx"
    write_sample_orders(path, customers=200, seed=8)
    alone = run_report(path, tmp_path / "alone.xlsx", worker=False)
    helped = run_report(path, tmp_path / "helped.xlsx", worker=True)
    same_analysis(helped.analysis, alone.analysis)
