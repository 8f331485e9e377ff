using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Reflection;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Tracker.Core;
using Tracker.Core.Auth;
using Tracker.Functions.Http;
using Tracker.Functions.Auth;

namespace Tracker.Functions.Endpoints;

/// <summary>
/// The web UI (src/Tracker.Web, built into this executable as embedded resources by the project's BuildWebUi target):
/// <c>index.html</c> at <c>/</c> and at each client-side route, the fingerprinted assets under <c>/assets/</c>, and the
/// settings the UI starts from at <c>/ui-config.json</c>. All public: the UI reads data only through the API, with the
/// user's own credentials. The function <c>WebUi</c> (route <c>{*path}</c>, GET and HEAD) lets these in under the
/// Functions host; every more specific function route (the APIs, health, version) takes precedence over it.
///
/// <c>GET /</c> is also the host's readiness probe: it answers from memory, never touching storage.
/// </summary>
public static class WebUiEndpoints
{
    /// <summary>The client-side routes (src/Tracker.Web/src/App.tsx), each served index.html so a shared URL opens.</summary>
    private static readonly string[] Pages = ["/", "/experiments/{**rest}", "/compare", "/models/{**rest}"];

    /// <summary>
    /// Scripts and styles from this origin only (no inline script, no eval); images also from blob: URLs (artifact
    /// previews are fetched through the API and shown from memory); the API and, when Entra sign-in is configured, its
    /// login endpoint; no framing, no plugins, no base tag.
    /// </summary>
    public static string ContentSecurityPolicy(string? entraOrigin) =>
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; font-src 'self'; " +
        $"connect-src 'self'{(entraOrigin is null ? "" : " " + entraOrigin)}; " +
        $"frame-src {(entraOrigin is null ? "'none'" : entraOrigin)}; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    /// <summary>Fingerprinted assets never change under their name.</summary>
    public const string AssetCacheControl = "public, max-age=31536000, immutable";

    /// <summary>index.html names the current assets, so it is revalidated on every load.</summary>
    public const string IndexCacheControl = "no-cache";

    public static IEndpointRouteBuilder MapWebUi(this IEndpointRouteBuilder app)
    {
        foreach (var page in Pages) app.MapGet(page, ServeIndex).Public();
        app.MapGet("/assets/{file}", ServeAsset).Public();
        app.MapGet("/ui-config.json", ServeConfig).Public();
        return app;
    }

    /// <summary>index.html with the UI's settings in a meta tag (what /ui-config.json answers), so the first view needs
    /// no round trip for them.</summary>
    private static IResult ServeIndex(HttpContext context)
    {
        if (WebUiAssets.IndexWithConfig(ConfigJson(context)) is not { } index)
            return Results.Text("The web UI was not built into this executable.", "text/plain", statusCode: StatusCodes.Status404NotFound);
        SetPageHeaders(context, IndexCacheControl);
        return Serve(context, index);
    }

    private static IResult ServeAsset(string file, HttpContext context)
    {
        if (!WebUiAssets.All.TryGetValue("assets/" + file, out var asset))
            return MlflowJson.Error(ErrorCode.EndpointNotFound, $"No web UI asset '{file}'.");
        SetPageHeaders(context, AssetCacheControl);
        return Serve(context, asset);
    }

    private static IResult ServeConfig(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        return Results.Text(ConfigJson(context), "application/json");
    }

    private static string ConfigJson(HttpContext context)
    {
        var entra = Entra(context);
        var config = new JsonObject
        {
            ["auth"] = !context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.Disabled,
            ["entra"] = entra is null ? null : new JsonObject
            {
                ["clientId"] = entra.ClientId,
                ["authority"] = entra.Authority,
                ["scopes"] = new JsonArray([.. entra.Scopes.Select(s => JsonValue.Create(s))]),
            },
        };
        return config.ToJsonString();
    }

    private static WebUiEntra? Entra(HttpContext context) => WebUiEntra.From(
        context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.Entra,
        context.RequestServices.GetRequiredService<IOptions<WebUiOptions>>().Value);

    private static void SetPageHeaders(HttpContext context, string cacheControl)
    {
        var response = context.Response;
        response.Headers.CacheControl = cacheControl;
        response.Headers.ContentSecurityPolicy = ContentSecurityPolicy(Entra(context)?.Origin);
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
    }

    /// <summary>The asset, precompressed when the browser takes gzip or Brotli (the build writes both).</summary>
    private static IResult Serve(HttpContext context, WebUiAssets.Asset asset)
    {
        var response = context.Response;
        response.Headers.ETag = asset.ETag;
        response.Headers.Vary = HeaderNames.AcceptEncoding;
        if (context.Request.Headers.IfNoneMatch == asset.ETag) return Results.StatusCode(StatusCodes.Status304NotModified);
        var accepts = context.Request.Headers.AcceptEncoding.ToString();
        var (body, encoding) = asset.Brotli is { } br && accepts.Contains("br", StringComparison.OrdinalIgnoreCase) ? (br, "br")
            : asset.Gzip is { } gz && accepts.Contains("gzip", StringComparison.OrdinalIgnoreCase) ? (gz, "gzip")
            : (asset.Content, null);
        if (encoding is not null) response.Headers.ContentEncoding = encoding;
        return Results.Bytes(body, asset.ContentType);
    }
}

/// <summary>The UI's files, read from this assembly's embedded resources on first use (not at start-up).</summary>
internal static class WebUiAssets
{
    public sealed record Asset(byte[] Content, byte[]? Gzip, byte[]? Brotli, string ContentType, string ETag);

    private const string Prefix = "webui/";
    private static readonly Lazy<FrozenDictionary<string, Asset>> Files = new(Load);

    public static FrozenDictionary<string, Asset> All => Files.Value;

    private static readonly ConcurrentDictionary<string, Asset> Indexes = new(StringComparer.Ordinal);

    /// <summary>index.html with <c>&lt;meta name="tracker-config" content="…"&gt;</c> (HTML-encoded JSON) before
    /// <c>&lt;/head&gt;</c>; rendered once per settings (they are fixed while the app runs).</summary>
    public static Asset? IndexWithConfig(string configJson)
    {
        if (All.GetValueOrDefault("index.html") is not { } index) return null;
        return Indexes.GetOrAdd(configJson, json =>
        {
            var html = Encoding.UTF8.GetString(index.Content).Replace(
                "</head>", $"<meta name=\"tracker-config\" content=\"{HtmlEncoder.Default.Encode(json)}\" />\n  </head>", StringComparison.Ordinal);
            var content = Encoding.UTF8.GetBytes(html);
            return new Asset(content, null, null, index.ContentType, ETagOf(content));
        });
    }

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var names = assembly.GetManifestResourceNames().Where(n => n.StartsWith(Prefix, StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        var files = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in names.Where(n => !n.EndsWith(".gz", StringComparison.Ordinal) && !n.EndsWith(".br", StringComparison.Ordinal)))
        {
            var content = Read(assembly, name)!;
            files[name[Prefix.Length..]] = new Asset(content,
                names.Contains(name + ".gz") ? Read(assembly, name + ".gz") : null,
                names.Contains(name + ".br") ? Read(assembly, name + ".br") : null,
                ContentType(name),
                ETagOf(content));
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ETagOf(byte[] content) => $"\"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(content))[..32]}\"";

    private static byte[]? Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name);
        if (stream is null) return null;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    private static string ContentType(string name) => Path.GetExtension(name) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        ".woff2" => "font/woff2",
        ".json" => "application/json",
        _ => "application/octet-stream",
    };
}
