"""The pytest plugin collects scenario files and reports expected against actual."""

import textwrap

pytest_plugins = ["pytester"]

GOOD = textwrap.dedent("""
    name: p
    duration: 100d
    drug: {concentration_mcg_per_ml: 2000}
    therapy: {dose_mcg_per_day: 400}
    expect:
      - {alarm: low_reservoir, first_at: 90d}
""")


def test_collects_and_passes(pytester):
    pytester.makefile(".yaml", good=GOOD, other="just: data\n")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=1)


def test_failure_shows_expected_and_actual(pytester):
    pytester.makefile(".yaml", bad=GOOD.replace("90d", "80d"))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*expected: first at 2026-03-22 00:00 (80d)*",
            "*actual:   first at 2026-04-01 00:00 (90d)*",
        ]
    )


def test_invalid_scenario_fails_with_one_line(pytester):
    pytester.makefile(".yaml", broken=GOOD.replace("100d", "100"))
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*invalid scenario:*broken.yaml:?: duration: bare number*"])


def test_one_item_per_expectation_each_with_its_own_verdict(pytester):
    two = GOOD + "  - {alarm: empty_reservoir, first_at: 80d}\n"
    pytester.makefile(".yaml", two=two)
    result = pytester.runpytest_subprocess("-v")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*two.yaml::expect[[]0[]] alarm PASSED*",
            "*two.yaml::expect[[]1[]] alarm FAILED*",
        ]
    )
