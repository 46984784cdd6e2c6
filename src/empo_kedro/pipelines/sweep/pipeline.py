"""Wiring of the sweep pipeline (needs dialogues, the SFT adapter and the EPITOME scorer: `sweep_setup`)."""

from kedro.pipeline import Node, Pipeline

from . import nodes

MODELS = ["base_model", "sft_adapter"]
SHARED = ["params:base_model", "params:evaluation", "params:sweep", "params:system_prompt", "params:seed"]
TRIAL_INPUTS = [*MODELS, "sweep_preference_pairs", "dialogues", "epitome_scorer", "sweep_trial_store", "sweep_plan"]


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                nodes.plan_sweep,
                inputs=["params:sweep", "params:dpo", "params:data_engineering.preferences", "params:seed"],
                outputs="sweep_plan",
                name="plan_sweep",
            ),
            Node(
                nodes.build_sweep_pairs,
                inputs=[
                    "dialogues",
                    "sweep_plan",
                    "params:sweep",
                    "params:data_engineering.preferences",
                    "params:emotion_maps",
                    "params:ed_emotion_labels",
                    "params:system_prompt",
                    "params:seed",
                ],
                outputs="sweep_preference_pairs",
                name="build_sweep_pairs",
            ),
            Node(
                nodes.run_sweep_trials,
                inputs=[*TRIAL_INPUTS, *SHARED],
                outputs="sweep_trials",
                name="run_sweep_trials",
            ),
            Node(
                nodes.select_sweep_trial,
                inputs=["sweep_trials", "params:sweep"],
                outputs="sweep_selection",
                name="select_sweep_trial",
            ),
            Node(
                nodes.run_sweep_ablation,
                inputs=[*TRIAL_INPUTS, "sweep_selection", *SHARED],
                outputs="sweep_ablation",
                name="run_sweep_ablation",
            ),
            Node(
                nodes.train_sweep_final_models,
                inputs=[*TRIAL_INPUTS, "sweep_selection", "sweep_ablation", *SHARED],
                outputs="sweep_final_models",
                name="train_sweep_final_models",
            ),
            Node(
                nodes.evaluate_sweep_final,
                inputs=[
                    *MODELS,
                    "sweep_trial_store",
                    "sweep_selection",
                    "sweep_final_models",
                    "dialogues",
                    "epitome_scorer",
                    "emotion_classifier",
                    "epitome_scorer_report",
                    "emotion_classifier_report",
                    "params:emotion_maps",
                    "params:ed_emotion_labels",
                    *SHARED,
                ],
                outputs="sweep_final",
                name="evaluate_sweep_final",
            ),
            Node(
                nodes.register_sweep_champion,
                inputs=[
                    *MODELS,
                    "sweep_trial_store",
                    "sweep_selection",
                    "params:base_model",
                    "params:registry",
                    "params:system_prompt",
                ],
                outputs="sweep_champion",
                name="register_sweep_champion",
            ),
            Node(
                nodes.plot_sweep_trials,
                inputs=["sweep_trials", "sweep_selection", "params:sweep"],
                outputs="sweep_plot",
                name="plot_sweep_trials",
            ),
        ],
        tags="sweep",
    )
