#!/usr/bin/env bash
# Main job: a short CPU train + evaluation of my_policy, fully offline, with the stock LeRobot tools.
#   1. Meta-World scripted-expert demonstrations -> local LeRobotDataset (benchmarks/metaworld/record_demos.py)
#   2. lerobot-train --policy.type=my_policy on it
#   3. lerobot-eval --policy.path=<that checkpoint> --env.type=metaworld, then print the success rate.
# Sizes are set by env vars (defaults fit ~25 min on 2 CPU cores); outputs land in outputs/demo/.
set -euo pipefail
cd "$(dirname "$0")/.."
export MUJOCO_GL=${MUJOCO_GL:-osmesa} PYOPENGL_PLATFORM=${PYOPENGL_PLATFORM:-osmesa} HF_HUB_OFFLINE=1
TASK=${TASK:-reach-v3}
DEMOS=${DEMOS:-20}
STEPS=${STEPS:-1000}
BATCH=${BATCH:-8}
EPISODES=${EPISODES:-10}
SEED=${SEED:-1000}
out=outputs/demo/$TASK
data=data/metaworld/demo-$TASK-$DEMOS
bin=.venv/bin

if [[ ! -f "$data/meta/info.json" ]]; then
  echo "== 1/3 generating $DEMOS expert demonstrations of $TASK"
  $bin/python -m benchmarks.metaworld.record_demos --tasks "$TASK" --demos-per-task "$DEMOS" --root "$data" \
    --report "$out/expert.json"
fi

echo "== 2/3 lerobot-train my_policy: $STEPS steps, batch $BATCH, seed $SEED"
rm -rf "$out/train"
$bin/lerobot-train --policy.type=my_policy --policy.device=cpu --policy.push_to_hub=false \
  --dataset.repo_id="local/$(basename "$data")" --dataset.root="$data" \
  --steps="$STEPS" --batch_size="$BATCH" --seed="$SEED" --num_workers=2 --log_freq=100 --save_freq="$STEPS" \
  --output_dir="$out/train" --wandb.enable=false

echo "== 3/3 lerobot-eval: $EPISODES episodes of $TASK"
rm -rf "$out/eval"
$bin/lerobot-eval --policy.path="$out/train/checkpoints/last/pretrained_model" --env.type=metaworld --env.task="$TASK" \
  --eval.n_episodes="$EPISODES" --eval.batch_size=1 --seed="$SEED" --output_dir="$out/eval"

$bin/python - "$out/eval/eval_info.json" "$TASK" "$DEMOS" "$STEPS" "$BATCH" "$SEED" <<'PY'
import json, sys
path, task, demos, steps, batch, seed = sys.argv[1:]
overall = json.load(open(path))["overall"]
print(f"my_policy on Meta-World {task}: success rate {overall['pc_success']:.1f}% over {overall['n_episodes']} episodes "
      f"(trained {steps} steps, batch {batch}, on {demos} scripted-expert demos; eval seed {seed})")
PY
