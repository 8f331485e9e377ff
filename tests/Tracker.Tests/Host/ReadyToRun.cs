using System.Reflection.PortableExecutable;

namespace Tracker.Tests.Host;

/// <summary>
/// Tells a ReadyToRun (crossgen2) assembly from an IL-only one. An R2R image points the CLI header's
/// ManagedNativeHeader directory at a READYTORUN_HEADER whose first field is the signature 0x00525452 ("RTR");
/// IL-only assemblies leave that directory empty. Checking the signature, not just a non-zero size, rules out the
/// unrelated legacy NGen use of the same directory. (crossgen2 also sets COMIMAGE_FLAGS_IL_LIBRARY, but the header
/// is what the runtime actually loads native code from.)
/// </summary>
internal static class ReadyToRun
{
    private const uint Signature = 0x00525452;

    public static bool HasNativeCode(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var directory = pe.PEHeaders.CorHeader?.ManagedNativeHeaderDirectory;
        if (directory is not { Size: >= sizeof(uint) } header)
        {
            return false;
        }
        var reader = pe.GetSectionData(header.RelativeVirtualAddress).GetReader();
        return reader.Length >= sizeof(uint) && reader.ReadUInt32() == Signature;
    }
}
