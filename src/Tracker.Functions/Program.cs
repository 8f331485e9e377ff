using Tracker.Core.Storage;
using Tracker.Functions.Admin;
using Tracker.Functions.Auth;
using Tracker.Functions.Endpoints;
using Tracker.Functions.Http;
using Tracker.Functions.Telemetry;
using Tracker.Functions.Triggers;

if (args is ["admin", .. var adminArgs]) return await AdminCommand.RunAsync(adminArgs);

var builder = WebApplication.CreateSlimBuilder(args);
builder.ListenWhereTheHostSays();
builder.AddTrackerLogging();
builder.AddTrackerTelemetry();
builder.Services.AddTrackerStorage();
builder.AddTrackerAuthentication();
builder.Services.AddTrackerHttp();
builder.Services.AddTrackerTriggers();

var app = builder.Build();
app.UseTrackerPipeline();
app.UseTrackerAuth();
app.MapServiceEndpoints();
app.MapWebUi();
app.MapMlflowApi();
app.MapArtifactEndpoints();
app.MapTrackerArtifactEndpoints();
app.MapTokenEndpoints();
app.MapTriggerEndpoints();
app.MapPromotionEndpoints();
app.MapCleanupEndpoints();
app.Run();
return 0;

/// <summary>Entry point; public so tests can host the app with WebApplicationFactory.</summary>
public partial class Program;
