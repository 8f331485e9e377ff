namespace Tracker.Core.Tracking;

/// <summary>System tag keys MLflow gives meaning to.</summary>
public static class MlflowTags
{
    public const string RunName = "mlflow.runName";
    public const string User = "mlflow.user";
    public const string DatasetContext = "mlflow.data.context";
    public const string LogModelHistory = "mlflow.log-model.history";
}
