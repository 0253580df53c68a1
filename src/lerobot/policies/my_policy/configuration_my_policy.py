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
from dataclasses import dataclass, field

from lerobot.configs import NormalizationMode, PreTrainedConfig
from lerobot.optim import AdamWConfig, CosineDecayWithWarmupSchedulerConfig

from ..rtc.configuration_rtc import RTCConfig

VISION_BACKBONES = ("resnet18", "resnet34", "resnet50")
BYTE_TEXT_ENCODER = "bytes"
PREDICTION_TYPES = ("velocity", "sample")


@PreTrainedConfig.register_subclass("my_policy")
@dataclass
class MyPolicyConfig(PreTrainedConfig):
    """Configuration for MyPolicy: a language-conditioned, few-step flow-matching action-chunk policy.

    The defaults train from scratch (no downloaded weights) on a CPU in hours; see `docs/source/my_policy.mdx`
    for the GPU-scale settings.

    Args:
        n_obs_steps: Number of observation frames given to the policy (only the current frame is supported).
        horizon: Length of the predicted action chunk.
        n_action_steps: Actions of each chunk executed before the next chunk is predicted (<= horizon).
        vision_backbone: torchvision ResNet used to encode each camera ("resnet18", "resnet34", "resnet50").
        backbone_stages: ResNet stages kept (2-4). Each stage dropped from the end halves the feature map's
            stride (4: 1/32 of the crop, 3: 1/16), so a camera gives 4x the tokens from a cheaper network with
            about half the weights: finer positions for small (e.g. 96x96) inputs.
        pretrained_backbone_weights: Optional torchvision weights name (e.g. "ResNet18_Weights.IMAGENET1K_V1");
            `None` trains from scratch so nothing is downloaded.
        use_group_norm: Replace BatchNorm by GroupNorm in the backbone (BatchNorm statistics are unreliable with
            the small batches this policy is sized for). Not allowed together with pretrained weights.
        use_separate_rgb_encoder_per_camera: One backbone per camera instead of one shared backbone.
        resize_shape: (H, W) every camera image is resized to before encoding; keeps compute independent of the
            simulator's render size.
        crop_ratio: Random crop (training) / center crop (inference) of this fraction of `resize_shape`;
            1.0 disables cropping.
        random_crop_per_sample: Draw the training crop's position for every image, as robomimic's crop
            randomizer (Diffusion Policy's) and DrQ do, instead of once per camera and batch.
        text_encoder: "bytes" (default) embeds the task string byte by byte with a small learned transformer,
            so multi-task training works offline; any other value is a Hugging Face model name whose frozen
            encoder and tokenizer are loaded with `transformers` (needs `pip install 'lerobot[transformers-dep]'`
            and the Hub, or a local folder).
        max_language_tokens: Task strings are tokenized (bytes or sub-words) and padded/truncated to this length.
        use_language: Condition on the task string. Set to False for single-task datasets without instructions.
        language_film: Scale and shift every ResNet stage's channels by the task sentence (FiLM, Perez et al.,
            2018; as in the language-conditioned ResNets of RT-1 and of LIBERO's baselines), so the cameras are
            encoded knowing which object the sentence names instead of leaving that binding to the decoder's
            cross-attention. Starts as the identity. Needs `use_language`.
        dim_model: Width of every transformer in the policy.
        n_heads: Attention heads.
        dim_feedforward: Hidden size of the transformer MLPs.
        n_decoder_layers: Layers of the action transformer (self-attention over the chunk, cross-attention to the
            observation tokens).
        n_text_layers: Layers of the byte-level text encoder.
        dropout: Dropout in all transformers.
        prediction_type: What the action decoder outputs. "velocity": the flow's velocity, trained with its
            squared error (flow matching). "sample": the action chunk itself, trained with its absolute error
            (L1 Flow, Song et al., 2025; squared for the shortcut's self-made targets); the velocity is then
            (prediction - x_t) / (1 - t), so sampling, the shortcut objective and RTC are unchanged and the last
            Euler step lands on the predicted chunk.
        num_inference_steps: Euler steps integrating the flow at inference (a power of two <= max_shortcut_steps);
            1 is the one-step mode.
        max_shortcut_steps: Finest step count the shortcut objective trains; step sizes 1, 1/2, ..., 1/max are
            learned so any power-of-two `num_inference_steps` up to it is consistent.
        shortcut_fraction: Fraction of each batch trained with the shortcut self-consistency target (the rest
            with plain flow matching).
        gripper_transition_weight: Loss weight of the training samples whose action chunk opens or closes the
            gripper (the last action dimension moves by more than one standard deviation within the chunk),
            against 1 for the others; the batch loss is their weighted mean, so its scale does not change. A grasp
            or a release is decided in a few steps that few chunks show (~15 % of a LIBERO demo's), and a policy
            that gets it wrong misses the grasp or never lets go. 1: off.
        use_ema: Keep an exponential moving average of the weights (updated in `update()`, used at inference and
            saved with the checkpoint).
        ema_decay: Decay of that average (warmed up as min(decay, (1 + n) / (10 + n))).
        environment_state_loss_weight: Weight of an auxiliary loss, training only, for datasets that carry
            `observation.environment_state` (the simulator's object positions, which this policy's demo recorders
            write): a head predicts that state from the camera tokens alone, so the backbone must locate the
            objects instead of leaving the camera unused. Inference never reads the key; a dataset without it
            trains as with 0.
        environment_state_token: With the environment-state head, its estimate (from the cameras, so also at
            inference) joins the observation tokens: the decoder reads the object positions through one token
            instead of finding them among the camera tokens.
        temporal_ensemble_coeff: ACT's temporal ensembling at inference: a chunk is predicted at every step
            (`n_action_steps` must be 1) and the action executed is the average of what every chunk so far
            predicted for this step, weighted exp(-coeff * i) from the oldest (i = 0; ACT's 0.01 favours older
            predictions). Averaging chunks integrated from different noise smooths out one sample's error.
            `None`: off.
        rtc_config: Real-Time Chunking at inference (`lerobot.policies.rtc`): with a previous chunk's unexecuted
            actions, each Euler step is guided toward them so consecutive chunks join smoothly. `None`: off.
    """

    n_obs_steps: int = 1
    horizon: int = 16
    n_action_steps: int = 8

    normalization_mapping: dict[str, NormalizationMode] = field(
        default_factory=lambda: {
            "VISUAL": NormalizationMode.MEAN_STD,
            "STATE": NormalizationMode.MEAN_STD,
            "ENV": NormalizationMode.MEAN_STD,
            "ACTION": NormalizationMode.MEAN_STD,
        }
    )

    # Vision.
    vision_backbone: str = "resnet18"
    backbone_stages: int = 4
    pretrained_backbone_weights: str | None = None
    use_group_norm: bool = True
    use_separate_rgb_encoder_per_camera: bool = False
    resize_shape: tuple[int, int] = (128, 128)
    crop_ratio: float = 0.9
    random_crop_per_sample: bool = False

    # Language.
    use_language: bool = True
    text_encoder: str = BYTE_TEXT_ENCODER
    max_language_tokens: int = 96
    n_text_layers: int = 2
    language_film: bool = False

    # Transformers.
    dim_model: int = 256
    n_heads: int = 4
    dim_feedforward: int = 1024
    n_decoder_layers: int = 4
    dropout: float = 0.1

    # Flow matching and shortcut.
    prediction_type: str = "velocity"
    num_inference_steps: int = 4
    max_shortcut_steps: int = 8
    shortcut_fraction: float = 0.25
    gripper_transition_weight: float = 1.0

    use_ema: bool = True
    ema_decay: float = 0.999

    environment_state_loss_weight: float = 0.0
    environment_state_token: bool = False

    temporal_ensemble_coeff: float | None = None
    rtc_config: RTCConfig | None = None

    # Training presets.
    optimizer_lr: float = 3e-4
    optimizer_lr_backbone: float = 1e-4
    optimizer_weight_decay: float = 1e-4
    optimizer_grad_clip_norm: float = 10.0
    scheduler_warmup_steps: int = 500
    scheduler_decay_steps: int = 100_000
    scheduler_decay_lr: float = 1e-5

    def __post_init__(self):
        super().__post_init__()
        positive = {
            "horizon": self.horizon,
            "n_action_steps": self.n_action_steps,
            "dim_model": self.dim_model,
            "n_heads": self.n_heads,
            "dim_feedforward": self.dim_feedforward,
            "n_decoder_layers": self.n_decoder_layers,
            "max_language_tokens": self.max_language_tokens,
            "num_inference_steps": self.num_inference_steps,
            "max_shortcut_steps": self.max_shortcut_steps,
        }
        for name, value in positive.items():
            if value <= 0:
                raise ValueError(f"`{name}` must be positive, got {value}.")
        if self.n_obs_steps != 1:
            raise ValueError(
                f"MyPolicy uses the current observation only: `n_obs_steps` must be 1, got {self.n_obs_steps}."
            )
        if self.n_action_steps > self.horizon:
            raise ValueError(
                f"`n_action_steps` ({self.n_action_steps}) cannot exceed `horizon` ({self.horizon}): "
                "a chunk only holds `horizon` actions."
            )
        if self.vision_backbone not in VISION_BACKBONES:
            raise ValueError(
                f"`vision_backbone` must be one of {VISION_BACKBONES}, got '{self.vision_backbone}'."
            )
        if self.prediction_type not in PREDICTION_TYPES:
            raise ValueError(
                f"`prediction_type` must be one of {PREDICTION_TYPES}, got '{self.prediction_type}'."
            )
        if self.backbone_stages not in (2, 3, 4):
            raise ValueError(
                f"`backbone_stages` must be 2, 3 or 4 (ResNet stages kept), got {self.backbone_stages}."
            )
        if self.language_film and not self.use_language:
            raise ValueError(
                "`language_film` conditions the cameras on the task sentence: set `use_language=True`."
            )
        if self.use_group_norm and self.pretrained_backbone_weights is not None:
            raise ValueError(
                "`use_group_norm=True` replaces the BatchNorm layers that pretrained weights were trained with; "
                "set `use_group_norm=False` to use `pretrained_backbone_weights`."
            )
        if len(self.resize_shape) != 2 or min(self.resize_shape) < 32:
            raise ValueError(f"`resize_shape` must be (H, W) with both sides >= 32, got {self.resize_shape}.")
        if not 0 < self.crop_ratio <= 1:
            raise ValueError(f"`crop_ratio` must be in (0, 1], got {self.crop_ratio}.")
        if self.dim_model % self.n_heads != 0:
            raise ValueError(
                f"`dim_model` ({self.dim_model}) must be divisible by `n_heads` ({self.n_heads})."
            )
        for name in ("num_inference_steps", "max_shortcut_steps"):
            value = getattr(self, name)
            if value & (value - 1):
                raise ValueError(f"`{name}` must be a power of two (1, 2, 4, ...), got {value}.")
        if self.num_inference_steps > self.max_shortcut_steps:
            raise ValueError(
                f"`num_inference_steps` ({self.num_inference_steps}) cannot exceed `max_shortcut_steps` "
                f"({self.max_shortcut_steps}): smaller steps were never trained."
            )
        if not 0 <= self.shortcut_fraction < 1:
            raise ValueError(f"`shortcut_fraction` must be in [0, 1), got {self.shortcut_fraction}.")
        if self.gripper_transition_weight < 1:
            raise ValueError(
                f"`gripper_transition_weight` must be >= 1 (1: off), got {self.gripper_transition_weight}."
            )
        if self.environment_state_loss_weight < 0:
            raise ValueError(
                f"`environment_state_loss_weight` must be >= 0, got {self.environment_state_loss_weight}."
            )
        if self.environment_state_token and self.environment_state_loss_weight == 0:
            raise ValueError(
                "`environment_state_token` reads the environment-state head, which only trains with "
                "`environment_state_loss_weight` > 0."
            )
        if self.temporal_ensemble_coeff is not None and self.n_action_steps != 1:
            raise ValueError(
                "`temporal_ensemble_coeff` averages a new chunk into every step's action: set "
                f"`n_action_steps=1` (got {self.n_action_steps})."
            )
        if (
            self.temporal_ensemble_coeff is not None
            and self.rtc_config is not None
            and self.rtc_config.enabled
        ):
            raise ValueError(
                "`temporal_ensemble_coeff` and `rtc_config` both join consecutive chunks: enable only one."
            )
        if not 0 < self.ema_decay < 1:
            raise ValueError(f"`ema_decay` must be in (0, 1), got {self.ema_decay}.")

    @property
    def crop_shape(self) -> tuple[int, int]:
        return (int(self.resize_shape[0] * self.crop_ratio), int(self.resize_shape[1] * self.crop_ratio))

    @property
    def backbone_stride(self) -> int:
        """Input pixels per feature-map cell: the stem's 4 (strided conv, max pool), then 2 per stage after the first."""
        return 2 ** (self.backbone_stages + 1)

    @property
    def backbone_channels(self) -> int:
        """Channels of the backbone's feature map: the full ResNet's, halved for each stage dropped."""
        return (2048 if self.vision_backbone == "resnet50" else 512) >> (4 - self.backbone_stages)

    @property
    def stage_channels(self) -> list[int]:
        """Channels out of each kept ResNet stage, which doubles them from one stage to the next."""
        return [self.backbone_channels >> (self.backbone_stages - 1 - i) for i in range(self.backbone_stages)]

    def get_optimizer_preset(self) -> AdamWConfig:
        return AdamWConfig(
            lr=self.optimizer_lr,
            weight_decay=self.optimizer_weight_decay,
            grad_clip_norm=self.optimizer_grad_clip_norm,
        )

    def get_scheduler_preset(self) -> CosineDecayWithWarmupSchedulerConfig:
        return CosineDecayWithWarmupSchedulerConfig(
            num_warmup_steps=self.scheduler_warmup_steps,
            num_decay_steps=self.scheduler_decay_steps,
            peak_lr=self.optimizer_lr,
            decay_lr=self.scheduler_decay_lr,
        )

    def validate_features(self) -> None:
        if not self.image_features:
            raise ValueError(
                "MyPolicy needs at least one camera: add an `observation.images.<name>` VISUAL feature to "
                "`input_features`."
            )
        if self.action_feature is None:
            raise ValueError("MyPolicy needs an `action` ACTION feature in `output_features`.")
        # Cameras may differ in size: each is resized to `resize_shape` before the (shared) backbone.
        for key, feature in self.image_features.items():
            if len(feature.shape) != 3 or feature.shape[0] != 3:
                raise ValueError(
                    f"`{key}` must be an RGB image of shape (3, H, W), got {tuple(feature.shape)}."
                )

    @property
    def observation_delta_indices(self) -> None:
        return None

    @property
    def action_delta_indices(self) -> list[int]:
        return list(range(self.horizon))

    @property
    def reward_delta_indices(self) -> None:
        return None
