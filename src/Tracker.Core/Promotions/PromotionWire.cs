using System.Globalization;
using System.Text.Json;

namespace Tracker.Core.Promotions;

/// <summary>
/// A promotion's fields as the promotion API answers them, in Core because two places write them: the endpoints
/// (<c>promotions/get</c>, <c>…/search</c>) and the promotion webhook events, whose payload is the same object.
/// </summary>
public static class PromotionWire
{
    public static void WriteFields(Utf8JsonWriter w, Promotion p)
    {
        w.WriteString("id", p.Id);
        w.WriteString("name", p.Name);
        w.WriteString("version", p.Version.ToString(CultureInfo.InvariantCulture));
        w.WriteStartObject("target");
        if (p.Target.Stage is not null) w.WriteString("stage", p.Target.Stage);
        if (p.Target.Alias is not null) w.WriteString("alias", p.Target.Alias);
        w.WriteEndObject();
        w.WriteBoolean("archive_existing", p.ArchiveExisting);
        if (p.Gate is { } gate)
        {
            w.WriteStartObject("gate");
            w.WriteString("metric", gate.Metric);
            w.WriteString("direction", gate.Direction);
            w.WriteDouble("max_regression", gate.MaxRegression);
            if (gate.MinImprovement is { } min) w.WriteDouble("min_improvement", min);
            if (gate.BaselineVersion is { } baseline) w.WriteString("baseline", baseline.ToString(CultureInfo.InvariantCulture));
            w.WriteEndObject();
        }
        w.WriteString("status", p.Status);
        w.WriteString("requester", p.Requester);
        w.WriteNumber("creation_timestamp", p.CreationTimestamp);
        w.WriteNumber("last_updated_timestamp", p.LastUpdatedTimestamp);
        if (p.Figures is { } f)
        {
            w.WriteStartObject("gate_result");
            if (f.CandidateValue is { } c) w.WriteDouble("candidate_value", c);
            if (f.BaselineValue is { } b) w.WriteDouble("baseline_value", b);
            if (f.BaselineVersion is { } bv) w.WriteString("baseline_version", bv.ToString(CultureInfo.InvariantCulture));
            if (f.AllowedBound is { } bound) w.WriteDouble("allowed_bound", bound);
            w.WriteEndObject();
        }
        if (p.Reason is not null) w.WriteString("reason", p.Reason);
    }
}
