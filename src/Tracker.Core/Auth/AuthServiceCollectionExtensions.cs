using Microsoft.Extensions.DependencyInjection;

namespace Tracker.Core.Auth;

public static class AuthServiceCollectionExtensions
{
    /// <summary>Who may do what, and the keys Tracker signs and hashes with. Nothing here talks to storage at start-up.</summary>
    public static IServiceCollection AddTrackerAuth(this IServiceCollection services)
    {
        services.AddOptions<AuthOptions>()
            .BindConfiguration(AuthOptions.Section)
            .Validate(o => ServerKeys.IsValidSetting(o.ServerKey), $"{AuthOptions.Section}:ServerKey must be base64 of at least {ServerKeys.MinimumKeyBytes} bytes.")
            .ValidateOnStart();
        services.AddSingleton<ServerKeys>();
        return services;
    }
}
