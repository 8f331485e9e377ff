using System.Buffers;
using System.Globalization;
using System.Text;

namespace Tracker.Core;

/// <summary>
/// The one spelling of a name, so that no two names can look alike (security baseline case 14): "foo" and "foo " or a
/// composed "José" and its decomposed twin must never be two users or two registered models. Used by
/// <see cref="Auth.UserNames"/> and <see cref="Registry.RegistryNames"/>, which keep their own messages and limits. Tracker refuses, rather than rewrites,
/// any name that has or could have another spelling: leading or trailing white space, any space but U+0020, control,
/// format (zero-width, bidi overrides), unassigned and private-use characters, and anything Unicode normalisation (NFC)
/// would change. Names are otherwise kept exactly, case included, as MLflow keeps them.
///
/// Why refuse instead of calling <c>string.Normalize</c>: Tracker runs with InvariantGlobalization (no ICU), where
/// Normalize silently returns its input unchanged. Instead every accepted name is already in NFC by construction: it
/// holds no combining mark (the only characters NFC composes onto a preceding one, besides Hangul's conjoining jamo,
/// also refused) and none of the characters NFC replaces on their own (<see cref="ChangedByNfc"/>, generated from the
/// Unicode 14 data). Two canonically equivalent NFC strings are equal, so accepted names cannot collide. The price: names
/// that need combining marks (some Indic scripts) are refused; a client must send precomposed letters.
/// </summary>
public static class UnambiguousNames
{
    /// <summary>Why <paramref name="name"/> could display like another name, or null when it cannot.</summary>
    public static string? WhyAmbiguous(string name)
    {
        if (name.Length == 0) return null;
        if (char.IsWhiteSpace(name[0]) || char.IsWhiteSpace(name[^1])) return "it starts or ends with white space";
        var rest = name.AsSpan();
        while (!rest.IsEmpty)
        {
            if (Rune.DecodeFromUtf16(rest, out var rune, out var used) != OperationStatus.Done) return "it is not valid UTF-16";
            rest = rest[used..];
            if (Refused(rune) is { } why) return why;
        }
        return null;
    }

    private static string? Refused(Rune rune)
    {
        switch (Rune.GetUnicodeCategory(rune))
        {
            case UnicodeCategory.SpaceSeparator when rune.Value != ' ':
            case UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator:
                return "it has a space other than U+0020";
            case UnicodeCategory.Control or UnicodeCategory.Format:
                return $"it has the invisible character U+{rune.Value:X4}";
            case UnicodeCategory.OtherNotAssigned or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate:
                return $"it has the unassigned or private character U+{rune.Value:X4}";
            case UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark:
                return $"it has the combining mark U+{rune.Value:X4}; send the precomposed (NFC) form";
        }
        if (rune.Value is >= 0x1100 and <= 0x11FF or >= 0xA960 and <= 0xA97F or >= 0xD7B0 and <= 0xD7FF)
            return $"it has the conjoining jamo U+{rune.Value:X4}; send the precomposed syllable";
        foreach (var (first, last) in ChangedByNfc)
            if (rune.Value >= first && rune.Value <= last) return $"NFC replaces its character U+{rune.Value:X4}";
        return null;
    }

    /// <summary>
    /// Code points, other than combining marks, that NFC maps to something else even on their own (singletons such as
    /// U+212B ANGSTROM SIGN → U+00C5, and CJK compatibility ideographs). Generated with Python's unicodedata (Unicode
    /// 14): every non-mark c with normalize('NFC', c) != c. Unicode's stability policy adds no new compositions.
    /// </summary>
    private static readonly (int First, int Last)[] ChangedByNfc =
    [
        (0x374, 0x374), (0x37E, 0x37E), (0x387, 0x387), (0x958, 0x95F), (0x9DC, 0x9DD), (0x9DF, 0x9DF), (0xA33, 0xA33), (0xA36, 0xA36),
        (0xA59, 0xA5B), (0xA5E, 0xA5E), (0xB5C, 0xB5D), (0xF43, 0xF43), (0xF4D, 0xF4D), (0xF52, 0xF52), (0xF57, 0xF57), (0xF5C, 0xF5C),
        (0xF69, 0xF69), (0x1F71, 0x1F71), (0x1F73, 0x1F73), (0x1F75, 0x1F75), (0x1F77, 0x1F77), (0x1F79, 0x1F79), (0x1F7B, 0x1F7B), (0x1F7D, 0x1F7D),
        (0x1FBB, 0x1FBB), (0x1FBE, 0x1FBE), (0x1FC9, 0x1FC9), (0x1FCB, 0x1FCB), (0x1FD3, 0x1FD3), (0x1FDB, 0x1FDB), (0x1FE3, 0x1FE3), (0x1FEB, 0x1FEB),
        (0x1FEE, 0x1FEF), (0x1FF9, 0x1FF9), (0x1FFB, 0x1FFB), (0x1FFD, 0x1FFD), (0x2000, 0x2001), (0x2126, 0x2126), (0x212A, 0x212B), (0x2329, 0x232A),
        (0x2ADC, 0x2ADC), (0xF900, 0xFA0D), (0xFA10, 0xFA10), (0xFA12, 0xFA12), (0xFA15, 0xFA1E), (0xFA20, 0xFA20), (0xFA22, 0xFA22), (0xFA25, 0xFA26),
        (0xFA2A, 0xFA6D), (0xFA70, 0xFAD9), (0xFB1D, 0xFB1D), (0xFB1F, 0xFB1F), (0xFB2A, 0xFB36), (0xFB38, 0xFB3C), (0xFB3E, 0xFB3E), (0xFB40, 0xFB41),
        (0xFB43, 0xFB44), (0xFB46, 0xFB4E), (0x1D15E, 0x1D164), (0x1D1BB, 0x1D1C0), (0x2F800, 0x2FA1D),
    ];
}
