using Tracker.Core;

namespace Tracker.Functions.Http;

/// <summary>Endpoint metadata: this route's JSON body limit, where it differs from <see cref="RequestArgs.MaxBodyBytes"/>.</summary>
/// <param name="TooLarge">The error for a body over it, given its size.</param>
public sealed record BodyLimit(int Bytes, Func<long, MlflowException> TooLarge);
