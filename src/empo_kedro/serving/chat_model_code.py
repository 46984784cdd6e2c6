"""MLflow "models from code" entry point: MLflow runs this file to build the chat model (no pickle involved)."""

import mlflow

from empo_kedro.serving.chat_model import EmpoChatModel

mlflow.models.set_model(EmpoChatModel())
