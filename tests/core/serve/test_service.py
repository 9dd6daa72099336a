"""The inference service on a real two-node Ray cluster: the same answers as in process, batched, refusing other models.

One cluster (a head and a worker node of 1 CPU each, `ray.cluster_utils.Cluster`) and one Serve
application with a replica on each node serve every test of this module; the fixture shuts down
Serve, Ray and the cluster. The model is the tiny one with a calibration, an index and a threshold
among the cells' values (`served_models.evidenced_copy`), so answering settles cells near each boundary.
"""
from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
import urllib.error
import urllib.request
from typing import Any

import numpy as np
import pytest
import requirements
from served_models import evidenced_copy, prepared_cells

from core import config
from core.errors import ModelError
from core.model import wire
from core.model.analysis import FAST, analyze_cell
from core.model.answering import answer_analysis, answer_cells

pytestmark = [pytest.mark.ray, pytest.mark.slow]
ERROR_RATE = 0.05
IMAGE_SIZE = 64


@pytest.fixture(scope="module")
def cells(synthetic_data_root) -> list:
    return prepared_cells(synthetic_data_root, IMAGE_SIZE)


@pytest.fixture(scope="module")
def served_model(tiny_model_path, tmp_path_factory, cells):
    return evidenced_copy(tiny_model_path, tmp_path_factory.mktemp("served"), cells)


@pytest.fixture(scope="module")
def service(served_model):
    """The service's URL: Serve on a two-node cluster, two replicas of the model (one per node)."""
    requirements.require_ray()
    import ray
    from ray import serve
    from ray.cluster_utils import Cluster

    from core.serve.command import serve_model, worker_environment

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, runtime_env=worker_environment(), logging_level=logging.WARNING)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        yield serve_model(served_model, replicas=2, host="127.0.0.1", port=port)
    finally:
        serve.shutdown()
        ray.shutdown()
        cluster.shutdown()


@pytest.fixture(scope="module")
def local(served_model):
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    return Classifier(load_classifier(served_model))


@pytest.fixture(scope="module")
def remote(service, served_model):
    from core.model.remote import RemoteClassifier

    return RemoteClassifier.connect(service, served_model)


def decisions(pairs) -> list[tuple]:
    return [(a.answer, a.prediction_set, a.refer_reasons, a.ood_flag, a.label) for _, a in pairs]


def assert_same_answers(remote_pairs, local_pairs, tolerance: float = 1e-4) -> None:
    assert decisions(remote_pairs) == decisions(local_pairs)
    remote_p = np.array([a.probability_all for _, a in remote_pairs])
    local_p = np.array([a.probability_all for _, a in local_pairs])
    assert np.abs(remote_p - local_p).max() <= tolerance


def post(url: str, inputs: np.ndarray, query: str) -> tuple[int, Any, bytes]:
    request = urllib.request.Request(f"{url}{wire.VALUES_PATH}?{query}", data=wire.encode_inputs(inputs), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_the_replicas_run_on_both_nodes(service):
    requirements.require_ray()
    from ray.util.state import list_actors

    replicas = [actor for actor in list_actors(filters=[("state", "=", "ALIVE")], limit=1000)
                if actor.class_name.startswith("ServeReplica:")]
    assert len(replicas) == 2 and len({actor.node_id for actor in replicas}) == 2


@pytest.mark.parametrize(("fast", "with_tta"), [(True, False), (False, False), (False, True)],
                         ids=["fast batches", "float32 batches", "8 views"])
def test_answers_through_the_service_are_the_in_process_answers(remote, local, cells, fast, with_tta):
    requirements.require_ray()
    remote_pairs = answer_cells(remote, cells, ERROR_RATE, with_tta=with_tta, fast=fast)
    local_pairs = answer_cells(local, cells, ERROR_RATE, with_tta=with_tta, fast=fast)
    assert_same_answers(remote_pairs, local_pairs)
    assert [a.exactness for a, _ in remote_pairs] == [a.exactness for a, _ in local_pairs]
    if fast and local.batch_precision == "bfloat16":  # the boundaries lie among the cells: the service's recheck ran
        assert remote.batch_precision == "bfloat16" and {a.exactness for a, _ in remote_pairs} != {FAST}
    assert {a.answer for _, a in remote_pairs} - {"refer"}, "some cell is answered, not all referred"


def test_classify_s_path_gives_the_same_answer(remote, local, synthetic_data_root):
    requirements.require_ray()
    from core.imaging.decode import load_image

    for path in sorted(synthetic_data_root.rglob("*.bmp"))[:4]:
        image_rgb = load_image(path).image_rgb
        assert_same_answers([answer_analysis(remote, analyze_cell(remote, image_rgb), ERROR_RATE)],
                            [answer_analysis(local, analyze_cell(local, image_rgb), ERROR_RATE)])


def test_sessions_at_once_share_batches_and_keep_their_answers(service, remote, local, cells):
    requirements.require_ray()
    query = f"fast=1&model_sha256={remote.loaded.sha256}&sidecar_sha256={remote.loaded.sidecar_sha256}"
    start, gathered, answers = threading.Barrier(len(cells)), [], {}

    def session(position: int) -> None:
        start.wait()
        gathered.append(int(post(service, cells[position].stages.model_input[None], query)[1][wire.GATHERED_HEADER]))
        answers[position] = answer_cells(remote, [cells[position]], ERROR_RATE, fast=True)[0]

    threads = [threading.Thread(target=session, args=(position,)) for position in range(len(cells))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert max(gathered) > 1, f"the requests ran one by one: {gathered}"
    # Each cell alone through the in-process fast path: bfloat16 values move with the batch, the answers do not.
    assert_same_answers([answers[position] for position in range(len(cells))],
                        [answer_cells(local, [cell], ERROR_RATE, fast=True)[0] for cell in cells], tolerance=0.05)


def test_another_model_is_refused_at_connect_and_per_request(service, served_model, tmp_path):
    requirements.require_ray()
    from core.model.remote import RemoteClassifier

    copy = tmp_path / served_model.name
    shutil.copyfile(served_model, copy)
    sidecar = json.loads(config.sidecar_path(served_model).read_text())
    config.sidecar_path(copy).write_text(json.dumps({**sidecar, "threshold": 0.42}))
    with pytest.raises(ModelError, match="runs another model"):
        RemoteClassifier.connect(service, copy)
    status, _, body = post(service, np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), np.uint8), f"model_sha256={'0' * 64}&sidecar_sha256=")
    assert status == wire.IDENTITY_REFUSED and b"This inference service runs the model" in body


def test_inputs_that_are_not_model_inputs_get_the_reason(service, remote):
    requirements.require_ray()
    query = f"fast=1&model_sha256={remote.loaded.sha256}&sidecar_sha256={remote.loaded.sidecar_sha256}"
    status, _, body = post(service, np.zeros((1, IMAGE_SIZE, IMAGE_SIZE, 3), np.float32), query)
    assert status == 400 and b"uint8 RGB model inputs" in body
