#!/usr/bin/env python

# Copyright 2026 The HuggingFace Inc. team. All rights reserved.
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.
import logging
from dataclasses import dataclass, field
from typing import Any, cast

import torch

from lerobot.configs import FeatureType, PipelineFeatureType, PolicyFeature
from lerobot.lerobot_types import RobotObservation, TransitionKey
from lerobot.processor import (
    ObservationProcessorStep,
    PolicyAction,
    PolicyProcessorPipeline,
    ProcessorStepRegistry,
    TokenizerProcessorStep,
    make_default_policy_processor_steps,
    make_policy_processor_pipelines,
)
from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS, OBS_STATE

from .configuration_my_policy import BYTE_TEXT_ENCODER, MyPolicyConfig


def checked_features(config: MyPolicyConfig) -> dict[str, PolicyFeature]:
    """The inputs every observation must carry as trained: the cameras and, if the policy has one, the state."""
    state = config.robot_state_feature
    return {**config.image_features, **({OBS_STATE: state} if state is not None else {})}


def check_observation(observation: dict[str, Any], features: dict[str, PolicyFeature]) -> None:
    """Raise a ValueError naming the feature, what was expected and the fix, for any camera or state of
    `features` that is missing, not a floating-point tensor, of the wrong rank, channels, aspect ratio or state
    size, or not finite. Observations are batched; any image resolution of the trained view is accepted (the
    model resizes it)."""
    for key, feature in features.items():
        if key not in observation:
            present = sorted(k for k in observation if k.startswith("observation."))
            raise ValueError(
                f"Missing `{key}`, which the policy was trained with (the observation has {present}); "
                "map the env's names to the policy's with `--rename_map`."
            )
        value = observation[key]
        if not isinstance(value, torch.Tensor) or not value.is_floating_point():
            kind = value.dtype if isinstance(value, torch.Tensor) else type(value).__name__
            raise ValueError(
                f"`{key}` must be a floating-point tensor (images in [0, 1], channels first), got {kind}."
            )
        if feature.type is FeatureType.VISUAL:
            _check_image(key, value, feature.shape)
        elif value.ndim != 2 or value.shape[-1] != feature.shape[0]:
            raise ValueError(
                f"`{key}` must have shape (batch, {feature.shape[0]}), got {tuple(value.shape)}: the policy was "
                f"trained on a {feature.shape[0]}-D `{key}`; use an env or robot that reports the same one."
            )
        if not torch.isfinite(value).all():
            raise ValueError(f"`{key}` contains NaN or inf values.")


def _check_image(key: str, image: torch.Tensor, trained: tuple[int, ...]) -> None:
    if image.ndim != 4:
        raise ValueError(
            f"`{key}` must have shape (batch, channels, height, width), got {tuple(image.shape)}."
        )
    (c, h, w), (trained_c, trained_h, trained_w) = image.shape[1:], trained
    if c != trained_c:
        raise ValueError(
            f"`{key}` has {c} channel(s), the policy was trained on {trained_c} (shape {tuple(trained)}); "
            "pass channels-first RGB images."
        )
    if abs(h * trained_w - w * trained_h) > 0.01 * trained_h * w:
        raise ValueError(
            f"`{key}` is {h}x{w}, the policy was trained on {trained_h}x{trained_w}: the aspect ratio must match "
            "(any resolution does); set the env's image size (e.g. `--env.observation_height/width`)."
        )


def missing_task_error(task_key: str) -> ValueError:
    return ValueError(
        f"MyPolicy is language-conditioned but the input has no `{task_key}` string. Pass the task instruction "
        "(datasets and LeRobot envs provide it), or train with `--policy.use_language=false`."
    )


@dataclass
@ProcessorStepRegistry.register(name="my_policy_input_check")
class InputCheckProcessorStep(ObservationProcessorStep):
    """Refuse an observation the policy was not trained for (`check_observation`, plus the task string when
    `task_key` is set) as the user passed it: before normalization, whose per-channel statistics would broadcast
    a 1-channel image to 3 channels, or fail on a state of the wrong size with an error that names no feature."""

    features: dict[str, PolicyFeature] = field(default_factory=dict)
    task_key: str | None = "task"

    def __post_init__(self):
        self.features = {  # a loaded processor's JSON gives dicts with string types and list shapes
            key: ft
            if isinstance(ft, PolicyFeature)
            else PolicyFeature(FeatureType(ft["type"]), tuple(ft["shape"]))
            for key, ft in self.features.items()
        }

    def observation(self, observation: RobotObservation) -> RobotObservation:
        check_observation(observation, self.features)
        complementary = cast(dict[str, Any], self.transition.get(TransitionKey.COMPLEMENTARY_DATA) or {})
        if self.task_key is not None and complementary.get(self.task_key) is None:
            raise missing_task_error(self.task_key)
        return observation

    def get_config(self) -> dict[str, Any]:
        return {
            "features": {
                key: {"type": ft.type.value, "shape": ft.shape} for key, ft in self.features.items()
            },
            "task_key": self.task_key,
        }

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        return features


@dataclass
@ProcessorStepRegistry.register(name="my_policy_byte_tokenizer")
class ByteTokenizerProcessorStep(ObservationProcessorStep):
    """Tokenize the task string into UTF-8 bytes: needs no vocabulary file, so it works offline and its whole
    state (`max_length`, `task_key`) is saved with the processor."""

    max_length: int = 96
    task_key: str = "task"
    _warned: set[str] = field(default_factory=set, init=False, repr=False)

    def observation(self, observation: RobotObservation) -> RobotObservation:
        complementary = cast(dict[str, Any], self.transition.get(TransitionKey.COMPLEMENTARY_DATA) or {})
        task = complementary.get(self.task_key)
        if task is None:
            raise missing_task_error(self.task_key)
        texts = [task] if isinstance(task, str) else list(task)
        tokens = torch.zeros(len(texts), self.max_length, dtype=torch.long)
        mask = torch.zeros(len(texts), self.max_length, dtype=torch.bool)
        for i, text in enumerate(texts):
            encoded = text.encode("utf-8")
            if len(encoded) > self.max_length and text not in self._warned:
                self._warned.add(text)
                logging.warning(
                    f"Task {text!r} is {len(encoded)} bytes; only its first {self.max_length} condition the policy. "
                    f"Train with `--policy.max_language_tokens={len(encoded)}` to use all of it."
                )
            encoded = encoded[: self.max_length]
            tokens[i, : len(encoded)] = torch.tensor(list(encoded), dtype=torch.long)
            mask[i, : len(encoded)] = True
        return {**observation, OBS_LANGUAGE_TOKENS: tokens, OBS_LANGUAGE_ATTENTION_MASK: mask}

    def get_config(self) -> dict[str, Any]:
        return {"max_length": self.max_length, "task_key": self.task_key}

    def transform_features(
        self, features: dict[PipelineFeatureType, dict[str, PolicyFeature]]
    ) -> dict[PipelineFeatureType, dict[str, PolicyFeature]]:
        for key in (OBS_LANGUAGE_TOKENS, OBS_LANGUAGE_ATTENTION_MASK):
            features[PipelineFeatureType.OBSERVATION][key] = PolicyFeature(
                type=FeatureType.LANGUAGE, shape=(self.max_length,)
            )
        return features


def make_my_policy_pre_post_processors(
    config: MyPolicyConfig,
    dataset_stats: dict[str, dict[str, torch.Tensor]] | None = None,
) -> tuple[
    PolicyProcessorPipeline[dict[str, Any], dict[str, Any]],
    PolicyProcessorPipeline[PolicyAction, PolicyAction],
]:
    """Rename -> batch -> check inputs -> tokenize task (bytes, or the pretrained encoder's tokenizer) -> device
    -> normalize; and unnormalize -> cpu for the predicted actions."""
    steps = make_default_policy_processor_steps(config, dataset_stats)
    input_check = InputCheckProcessorStep(
        features=checked_features(config), task_key="task" if config.use_language else None
    )
    input_steps = [steps.rename_observations, steps.add_batch_dim, input_check]
    if config.use_language:
        if config.text_encoder == BYTE_TEXT_ENCODER:
            input_steps.append(ByteTokenizerProcessorStep(max_length=config.max_language_tokens))
        else:
            input_steps.append(
                TokenizerProcessorStep(
                    tokenizer_name=config.text_encoder,
                    max_length=config.max_language_tokens,
                    padding="max_length",
                    truncation=True,
                )
            )
    input_steps += [steps.to_device, steps.normalize]
    return make_policy_processor_pipelines(
        input_steps=input_steps, output_steps=[steps.unnormalize, steps.to_cpu]
    )
