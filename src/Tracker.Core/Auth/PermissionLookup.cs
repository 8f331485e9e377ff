using Azure;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Tracker.Core.Auth;

/// <summary>
/// A user's effective permission on an experiment or registered model: their explicit grant, else the configured
/// default (admins are let through before anyone asks). Each user's grants are one partition read, kept for
/// <see cref="AuthOptions.CredentialCacheSeconds"/> like verified credentials, so an authorised request costs no storage
/// read; a change through this instance applies at once, on the others within that time.
/// </summary>
public sealed class PermissionLookup : IDisposable
{
    private const int MaxUsers = 10_000;
    private readonly AuthStore _store;
    private readonly TimeSpan _ttl;
    private readonly Permission _default;
    private readonly MemoryCache _cache = new(new MemoryCacheOptions { SizeLimit = MaxUsers });

    private sealed record Grants(Dictionary<string, Permission> Experiments, Dictionary<string, Permission> Models, long Generation);

    public PermissionLookup(AuthStore store, IOptions<AuthOptions> options)
    {
        _store = store;
        _ttl = TimeSpan.FromSeconds(options.Value.CredentialCacheSeconds);
        _default = options.Value.Default;
    }

    public Permission Default => _default;

    public async ValueTask<Permission> ForExperimentAsync(string userName, string experimentId, CancellationToken ct = default) =>
        (await GrantsAsync(userName, ct)).Experiments.GetValueOrDefault(experimentId, _default);

    public async ValueTask<Permission> ForRegisteredModelAsync(string userName, string name, CancellationToken ct = default) =>
        (await GrantsAsync(userName, ct)).Models.GetValueOrDefault(name, _default);

    /// <summary>Whether the user may read an experiment, for filtering search results before they are paged.</summary>
    public async ValueTask<Func<string, bool>> ExperimentReaderAsync(string userName, CancellationToken ct = default)
    {
        var grants = (await GrantsAsync(userName, ct)).Experiments;
        var byDefault = _default.CanRead;
        return experimentId => grants.TryGetValue(experimentId, out var p) ? p.CanRead : byDefault;
    }

    /// <summary>Whether the user may read a registered model (by canonical name), for filtering search results before they are paged.</summary>
    public async ValueTask<Func<string, bool>> RegisteredModelReaderAsync(string userName, CancellationToken ct = default)
    {
        var grants = (await GrantsAsync(userName, ct)).Models;
        var byDefault = _default.CanRead;
        return name => grants.TryGetValue(name, out var p) ? p.CanRead : byDefault;
    }

    /// <summary>Reads the user's grants into the cache unless they are there (a sign-in does it alongside its own
    /// reads); a failed read is left for the permission check to make again.</summary>
    public async Task PrefetchAsync(string userName, CancellationToken ct = default)
    {
        if (_ttl <= TimeSpan.Zero) return;
        try
        {
            await GrantsAsync(userName, ct);
        }
        catch (Exception e) when (e is MlflowException or RequestFailedException)
        {
        }
    }

    private async ValueTask<Grants> GrantsAsync(string userName, CancellationToken ct)
    {
        if (_cache.TryGetValue(userName, out Grants? hit) && hit!.Generation == _store.PermissionsGeneration) return hit;
        var generation = _store.PermissionsGeneration;
        var listed = await _store.ListPermissionsAsync(userName, ct);
        var grants = new Grants(
            listed.Experiments.ToDictionary(p => p.ExperimentId, p => p.Permission, StringComparer.Ordinal),
            listed.RegisteredModels.ToDictionary(p => p.Name, p => p.Permission, StringComparer.Ordinal),
            generation);
        if (_ttl > TimeSpan.Zero)
            _cache.Set(userName, grants, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = _ttl });
        return grants;
    }

    public void Dispose() => _cache.Dispose();
}
