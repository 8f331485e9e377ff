using System.Globalization;
using System.Text.Json;
using Tracker.Core;
using Tracker.Core.Artifacts;
using Tracker.Core.Auth;
using Tracker.Core.Registry;
using Tracker.Core.Tracking;

namespace Tracker.Functions.Http;

/// <summary>
/// Writes MLflow's response messages in proto-JSON as MLflow's server emits them: snake_case, int64 as numbers,
/// enums as names, doubles as numbers with NaN/±Infinity as strings, unset optional fields omitted.
/// </summary>
public static class MlflowJson
{
    /// <summary>An MLflow JSON response: <paramref name="write"/> writes the members of the top-level object.</summary>
    public static IResult Object(Action<Utf8JsonWriter> write, int status = StatusCodes.Status200OK) =>
        new JsonObjectResult((w, _) =>
        {
            write(w);
            return Task.CompletedTask;
        }, status);

    /// <summary>
    /// A 200 answer too big to hold in memory: <paramref name="write"/> awaits the flush it is given every so often,
    /// so the body goes out chunk by chunk as it is made.
    /// </summary>
    public static IResult Streamed(Func<Utf8JsonWriter, Func<Task>, Task> write) => new JsonObjectResult(write, StatusCodes.Status200OK);

    public static IResult Empty() => Object(_ => { });

    /// <summary>
    /// A page of a listing: the items under <paramref name="field"/> (omitted when empty) and the token of the next page.
    /// A big page (model-versions/search may ask for 200,000 versions, about 60 MB) goes out in pieces of about
    /// <see cref="PageFlushBytes"/> as it is written, so the response never holds more than that.
    /// </summary>
    public static IResult Page<T>(string field, Page<T> page, Action<Utf8JsonWriter, T> writeItem) => Streamed(async (w, flush) =>
    {
        if (page.Items.Count > 0)
        {
            w.WriteStartArray(field);
            var flushedAt = 0L;
            foreach (var item in page.Items)
            {
                writeItem(w, item);
                if (w.BytesCommitted + w.BytesPending - flushedAt < PageFlushBytes) continue;
                await flush();
                flushedAt = w.BytesCommitted;
            }
            w.WriteEndArray();
        }
        if (page.NextPageToken is not null) w.WriteString("next_page_token", page.NextPageToken);
    });

    private const int PageFlushBytes = 64 * 1024;

    public static IResult Error(ErrorCode code, string message) => Object(w =>
    {
        w.WriteString("error_code", code.Name);
        w.WriteString("message", message);
    }, code.HttpStatus);

    private static readonly JsonWriterOptions WriterOptions = new() { SkipValidation = true, Encoder = MlflowJsonEncoder.Instance };

    private sealed class JsonObjectResult(Func<Utf8JsonWriter, Func<Task>, Task> write, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext context)
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            var body = context.Response.BodyWriter;
            await using (var writer = new Utf8JsonWriter(body, WriterOptions))
            {
                writer.WriteStartObject();
                await write(writer, async () =>
                {
                    writer.Flush(); // hands what is written so far to the response pipe, which sends it
                    await body.FlushAsync(context.RequestAborted);
                });
                writer.WriteEndObject();
            }
            await body.FlushAsync();
        }
    }

    /// <summary>MLflow's FileInfo list (omitted when empty, like every empty repeated field): <paramref name="prefix"/> + name.</summary>
    public static void WriteFiles(this Utf8JsonWriter w, IReadOnlyList<ArtifactFile> files, string prefix)
    {
        if (files.Count == 0) return;
        w.WriteStartArray("files");
        foreach (var file in files)
        {
            w.WriteStartObject();
            w.WriteString("path", prefix + file.Name);
            w.WriteBoolean("is_dir", file.IsDir);
            if (file.FileSize is { } size) w.WriteNumber("file_size", size);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteKeyValues(this Utf8JsonWriter w, string name, IReadOnlyList<KeyValue> items)
    {
        if (items.Count == 0) return;
        w.WriteStartArray(name);
        foreach (var kv in items)
        {
            w.WriteStartObject();
            w.WriteString("key", kv.Key);
            w.WriteString("value", kv.Value);
            w.WriteEndObject();
        }
        w.WriteEndArray();
    }

    public static void WriteExperiment(this Utf8JsonWriter w, Experiment e)
    {
        w.WriteString("experiment_id", e.ExperimentId);
        w.WriteString("name", e.Name);
        w.WriteString("artifact_location", e.ArtifactLocation);
        w.WriteString("lifecycle_stage", e.LifecycleStage);
        w.WriteNumber("last_update_time", e.LastUpdateTime);
        w.WriteNumber("creation_time", e.CreationTime);
        w.WriteKeyValues("tags", e.Tags);
    }

    public static void WriteRunInfo(this Utf8JsonWriter w, RunInfo info)
    {
        w.WriteString("run_id", info.RunId);
        w.WriteString("run_uuid", info.RunId);
        w.WriteString("run_name", info.RunName);
        w.WriteString("experiment_id", info.ExperimentId);
        w.WriteString("user_id", info.UserId);
        w.WriteString("status", info.Status);
        w.WriteNumber("start_time", info.StartTime);
        if (info.EndTime is { } end) w.WriteNumber("end_time", end);
        w.WriteString("artifact_uri", info.ArtifactUri);
        w.WriteString("lifecycle_stage", info.LifecycleStage);
    }

    public static void WriteMetric(this Utf8JsonWriter w, Metric m, string? runId = null)
    {
        w.WriteStartObject();
        w.WriteString("key", m.Key);
        w.WriteDouble("value", m.Value);
        w.WriteNumber("timestamp", m.Timestamp);
        w.WriteNumber("step", m.Step);
        if (runId is not null) w.WriteString("run_id", runId);
        w.WriteEndObject();
    }

    public static void WriteRun(this Utf8JsonWriter w, Run run)
    {
        w.WriteStartObject("info");
        w.WriteRunInfo(run.Info);
        w.WriteEndObject();

        w.WriteStartObject("data");
        if (run.Metrics.Count > 0)
        {
            w.WriteStartArray("metrics");
            foreach (var m in run.Metrics) w.WriteMetric(m);
            w.WriteEndArray();
        }
        w.WriteKeyValues("params", run.Params);
        w.WriteKeyValues("tags", run.Tags);
        w.WriteEndObject();

        w.WriteStartObject("inputs");
        if (run.DatasetInputs.Count > 0)
        {
            w.WriteStartArray("dataset_inputs");
            foreach (var input in run.DatasetInputs)
            {
                w.WriteStartObject();
                w.WriteKeyValues("tags", input.Tags);
                w.WriteStartObject("dataset");
                w.WriteString("name", input.Dataset.Name);
                w.WriteString("digest", input.Dataset.Digest);
                w.WriteString("source_type", input.Dataset.SourceType);
                w.WriteString("source", input.Dataset.Source);
                if (input.Dataset.Schema is not null) w.WriteString("schema", input.Dataset.Schema);
                if (input.Dataset.Profile is not null) w.WriteString("profile", input.Dataset.Profile);
                w.WriteEndObject();
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (run.ModelInputs.Count > 0)
        {
            w.WriteStartArray("model_inputs");
            foreach (var id in run.ModelInputs)
            {
                w.WriteStartObject();
                w.WriteString("model_id", id);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();

        w.WriteStartObject("outputs");
        if (run.ModelOutputs.Count > 0)
        {
            w.WriteStartArray("model_outputs");
            foreach (var output in run.ModelOutputs)
            {
                w.WriteStartObject();
                w.WriteString("model_id", output.ModelId);
                w.WriteNumber("step", output.Step);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>MLflow's <c>LoggedModel</c>: <c>info</c> (with the tags) and <c>data</c> (params and model metrics).</summary>
    public static void WriteLoggedModel(this Utf8JsonWriter w, LoggedModel model)
    {
        w.WriteStartObject("info");
        w.WriteString("model_id", model.ModelId);
        w.WriteString("experiment_id", model.ExperimentId);
        w.WriteString("name", model.Name);
        w.WriteNumber("creation_timestamp_ms", model.CreationTimestamp);
        w.WriteNumber("last_updated_timestamp_ms", model.LastUpdatedTimestamp);
        w.WriteString("artifact_uri", model.ArtifactUri);
        w.WriteString("status", model.Status);
        if (model.ModelType is not null) w.WriteString("model_type", model.ModelType);
        if (model.SourceRunId is not null) w.WriteString("source_run_id", model.SourceRunId);
        if (model.StatusMessage is not null) w.WriteString("status_message", model.StatusMessage);
        w.WriteKeyValues("tags", model.Tags);
        w.WriteEndObject();

        w.WriteStartObject("data");
        w.WriteKeyValues("params", model.Params);
        if (model.Metrics.Count > 0)
        {
            w.WriteStartArray("metrics");
            foreach (var m in model.Metrics)
            {
                w.WriteStartObject();
                w.WriteString("key", m.Key);
                w.WriteDouble("value", m.Value);
                w.WriteNumber("timestamp", m.Timestamp);
                w.WriteNumber("step", m.Step);
                if (m.DatasetName is not null) w.WriteString("dataset_name", m.DatasetName);
                if (m.DatasetDigest is not null) w.WriteString("dataset_digest", m.DatasetDigest);
                w.WriteString("model_id", model.ModelId);
                if (m.RunId is not null) w.WriteString("run_id", m.RunId);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteEndObject();
    }

    /// <summary>
    /// MLflow's ModelVersion message. <c>description</c> and <c>run_link</c> are always sent (MLflow stores "" for
    /// them); <c>aliases</c> only where MLflow looks them up (model-versions/get and get-by-alias), never in searches or
    /// a model's latest versions, as the recorded traffic shows.
    /// </summary>
    public static void WriteModelVersion(this Utf8JsonWriter w, ModelVersion v, bool withAliases)
    {
        w.WriteString("name", v.Name);
        w.WriteString("version", v.Version.ToString(CultureInfo.InvariantCulture));
        w.WriteNumber("creation_timestamp", v.CreationTimestamp);
        w.WriteNumber("last_updated_timestamp", v.LastUpdatedTimestamp);
        if (v.UserId is not null) w.WriteString("user_id", v.UserId);
        w.WriteString("current_stage", v.CurrentStage);
        w.WriteString("description", v.Description);
        w.WriteString("source", v.Source);
        if (v.RunId is not null) w.WriteString("run_id", v.RunId);
        w.WriteString("status", v.Status);
        w.WriteString("run_link", v.RunLink);
        w.WriteKeyValues("tags", v.Tags);
        if (withAliases && v.Aliases.Count > 0)
        {
            w.WriteStartArray("aliases");
            foreach (var alias in v.Aliases) w.WriteStringValue(alias);
            w.WriteEndArray();
        }
        if (v.ModelId is not null) w.WriteString("model_id", v.ModelId);
    }

    /// <summary>MLflow's RegisteredModel message: its tags, aliases and latest version per stage, each omitted when empty.</summary>
    public static void WriteRegisteredModel(this Utf8JsonWriter w, RegisteredModel m)
    {
        w.WriteString("name", m.Name);
        w.WriteNumber("creation_timestamp", m.CreationTimestamp);
        w.WriteNumber("last_updated_timestamp", m.LastUpdatedTimestamp);
        w.WriteString("description", m.Description);
        if (m.LatestVersions.Count > 0)
        {
            w.WriteStartArray("latest_versions");
            foreach (var v in m.LatestVersions)
            {
                w.WriteStartObject();
                w.WriteModelVersion(v, withAliases: false);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        w.WriteKeyValues("tags", m.Tags);
        if (m.Aliases.Count > 0)
        {
            w.WriteStartArray("aliases");
            foreach (var a in m.Aliases)
            {
                w.WriteStartObject();
                w.WriteString("alias", a.Alias);
                w.WriteString("version", a.Version);
                w.WriteEndObject();
            }
            w.WriteEndArray();
        }
        if (m.DeploymentJobId is not null) w.WriteString("deployment_job_id", m.DeploymentJobId);
    }

    // MLflow's auth app answers with Flask's jsonify of its entities' to_json, not proto-JSON: empty lists are sent.

    /// <summary>
    /// MLflow's User.to_json. <c>scorer_permissions</c> (MLflow 3's scorer grants, which Tracker has none of) is sent
    /// empty because MLflow 3's client requires it in User.from_json; older clients ignore it.
    /// </summary>
    public static void WriteUser(this Utf8JsonWriter w, AuthUser user, UserPermissions permissions)
    {
        w.WriteNumber("id", user.Id);
        w.WriteString("username", user.UserName);
        w.WriteBoolean("is_admin", user.IsAdmin);
        w.WriteStartArray("experiment_permissions");
        foreach (var p in permissions.Experiments)
        {
            w.WriteStartObject();
            w.WriteExperimentPermission(p);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("registered_model_permissions");
        foreach (var p in permissions.RegisteredModels)
        {
            w.WriteStartObject();
            w.WriteRegisteredModelPermission(p);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("scorer_permissions");
        w.WriteEndArray();
    }

    public static void WriteExperimentPermission(this Utf8JsonWriter w, ExperimentPermission p)
    {
        w.WriteString("experiment_id", p.ExperimentId);
        w.WriteNumber("user_id", p.UserId);
        w.WriteString("permission", p.Permission.Name);
    }

    public static void WriteRegisteredModelPermission(this Utf8JsonWriter w, RegisteredModelPermission p)
    {
        w.WriteString("name", p.Name);
        w.WriteNumber("user_id", p.UserId);
        w.WriteString("permission", p.Permission.Name);
    }

    /// <summary>A Tracker token's public facts (never its secret or hash); times in epoch milliseconds, unset ones omitted.</summary>
    public static void WriteTokenInfo(this Utf8JsonWriter w, TokenInfo t)
    {
        w.WriteString("token_id", t.Id);
        w.WriteString("username", t.Owner);
        w.WriteString("name", t.Name);
        w.WriteNumber("created_at", t.CreatedAt.ToUnixTimeMilliseconds());
        if (t.ExpiresAt is { } expires) w.WriteNumber("expires_at", expires.ToUnixTimeMilliseconds());
        if (t.LastUsedAt is { } used) w.WriteNumber("last_used_at", used.ToUnixTimeMilliseconds());
        if (t.RevokedAt is { } revoked) w.WriteNumber("revoked_at", revoked.ToUnixTimeMilliseconds());
    }
}
