using System.Globalization;
using System.Text.RegularExpressions;
using Tracker.Core.Tracking;

namespace Tracker.Tests.Unit;

public class RunNamesTests
{
    [Fact]
    public void NamesAreAdjectiveNounNumberWithinTwentyCharacters()
    {
        var shape = new Regex("^([a-z]+)-([a-z]+)-([0-9]{1,3})$");
        for (var i = 0; i < 2000; i++)
        {
            var name = RunNames.New();
            Assert.InRange(name.Length, 1, 20);
            var m = shape.Match(name);
            Assert.True(m.Success, name);
            Assert.InRange(int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture), 0, 999);
            Assert.Equal(m.Groups[3].Value, int.Parse(m.Groups[3].Value, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void NamesVary() => Assert.True(Enumerable.Range(0, 50).Select(_ => RunNames.New()).Distinct().Count() > 1);

    [Fact]
    public void NamesAreValidTagValues()
    {
        for (var i = 0; i < 200; i++) Validation.RunTag(MlflowTags.RunName, RunNames.New());
    }
}
