"""LeRobot's async inference server serves my_policy: a real `PolicyServer` on localhost loads a saved
checkpoint from the client's policy instructions, takes an observation as a robot sends it, and returns a chunk
of unnormalized actions, all over gRPC."""

import pickle  # nosec B403: the async inference protocol pickles its messages
import socket
import time
from concurrent import futures

import numpy as np
import pytest
import torch
from my_policy_helpers import (
    ACTION_DIM,
    IMAGE_SHAPE,
    STATE_DIM,
    TASKS,
    make_config,
    make_policy_and_processors,
)

grpc = pytest.importorskip("grpc")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def test_policy_server_returns_action_chunks_for_my_policy(tmp_path):
    from lerobot.async_inference.configs import PolicyServerConfig
    from lerobot.async_inference.constants import SUPPORTED_POLICIES
    from lerobot.async_inference.helpers import RemotePolicyConfig, TimedAction, TimedObservation
    from lerobot.async_inference.policy_server import PolicyServer
    from lerobot.transport import services_pb2, services_pb2_grpc  # type: ignore
    from lerobot.transport.utils import send_bytes_in_chunks
    from lerobot.utils.constants import OBS_STR
    from lerobot.utils.feature_utils import hw_to_dataset_features

    assert "my_policy" in SUPPORTED_POLICIES
    config = make_config()
    policy, pre, post = make_policy_and_processors(config)
    for part in (policy, pre, post):
        part.save_pretrained(tmp_path)

    # What a robot reports: one float per motor, the camera as an (H, W, 3) uint8 frame, keyed `cam0` as the
    # policy's `observation.images.cam0`.
    _, height, width = IMAGE_SHAPE
    hardware = {f"m{i}.pos": float for i in range(STATE_DIM)} | {"cam0": (height, width, 3)}
    raw = {f"m{i}.pos": 0.1 * i for i in range(STATE_DIM)}
    raw["cam0"] = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    raw["task"] = TASKS[0]

    server = PolicyServer(PolicyServerConfig(host="localhost", port=free_port(), inference_latency=0.0))
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    services_pb2_grpc.add_AsyncInferenceServicer_to_server(server, grpc_server)
    address = f"localhost:{server.config.port}"
    grpc_server.add_insecure_port(address)
    grpc_server.start()
    try:
        with grpc.insecure_channel(address) as channel:
            stub = services_pb2_grpc.AsyncInferenceStub(channel)
            stub.Ready(services_pb2.Empty())
            instructions = RemotePolicyConfig(
                policy_type="my_policy",
                pretrained_name_or_path=str(tmp_path),
                lerobot_features=hw_to_dataset_features(hardware, OBS_STR, use_video=False),
                actions_per_chunk=config.n_action_steps,
            )
            stub.SendPolicyInstructions(services_pb2.PolicySetup(data=pickle.dumps(instructions)))
            observation = TimedObservation(timestamp=time.time(), timestep=0, observation=raw, must_go=True)
            stub.SendObservations(send_bytes_in_chunks(pickle.dumps(observation), services_pb2.Observation))
            reply = stub.GetActions(services_pb2.Empty())
    finally:
        grpc_server.stop(grace=None)

    chunk = pickle.loads(reply.data)  # nosec B301: from the server this test started
    assert len(chunk) == config.n_action_steps and all(isinstance(a, TimedAction) for a in chunk)
    assert [a.get_timestep() for a in chunk] == list(range(config.n_action_steps))
    actions = torch.stack([a.get_action() for a in chunk])
    assert actions.shape == (config.n_action_steps, ACTION_DIM) and torch.isfinite(actions).all()
