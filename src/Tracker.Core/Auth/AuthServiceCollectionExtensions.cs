using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Tracker.Core.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>Who may do what, and the keys Tracker signs and hashes with. Nothing here talks to storage at start-up.</summary>
    public static IServiceCollection AddTrackerAuth(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .Validate(o => o.IsValid(),
                $"Invalid {AuthOptions.Section} settings: ServerKey must be base64 of at least {ServerKeys.MinimumKeyBytes} bytes, CredentialCacheSeconds 0-300.")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ServerKeys>();
        services.AddSingleton<AuthStore>();
        services.AddSingleton<CredentialVerifier>();
        return services;
    }
}
