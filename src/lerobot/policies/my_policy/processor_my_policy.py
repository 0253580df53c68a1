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
from lerobot.utils.constants import OBS_LANGUAGE_ATTENTION_MASK, OBS_LANGUAGE_TOKENS

from .configuration_my_policy import BYTE_TEXT_ENCODER, MyPolicyConfig


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
            raise ValueError(
                f"MyPolicy is language-conditioned but the input has no `{self.task_key}` string. Pass the task "
                "instruction (datasets and LeRobot envs provide it), or train with `--policy.use_language=false`."
            )
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
    """Rename -> batch -> tokenize task (bytes, or the pretrained encoder's tokenizer) -> device -> normalize;
    and unnormalize -> cpu for the predicted actions."""
    steps = make_default_policy_processor_steps(config, dataset_stats)
    input_steps = [steps.rename_observations, steps.add_batch_dim]
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
