from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sandwarden.domain.errors import ErrorKind, UnavailableReason, WardenError
from sandwarden.domain.parity import ParityVerdict, as_error, compare_heads

A = "3f786850e387550fdab836ed7e6dc881de23001b"
B = "89e6c98d92887913cadf06b2adb97f26cde4849b"


def test_the_same_commit_is_equal() -> None:
    parity = compare_heads(A, A + "\n")

    assert parity.verdict is ParityVerdict.EQUAL
    assert as_error(parity) is None


def test_an_abbreviated_id_equals_the_full_one() -> None:
    assert compare_heads(A[:7], A.upper()).verdict is ParityVerdict.EQUAL


def test_a_too_short_prefix_is_not_taken_as_equal() -> None:
    assert compare_heads(A[:4], A).verdict is ParityVerdict.DRIFT


def test_different_commits_drift_and_the_error_names_both() -> None:
    parity = compare_heads(A, B)

    error = as_error(parity)

    assert parity.verdict is ParityVerdict.DRIFT
    assert error is not None
    assert error.kind is ErrorKind.PARITY_MISMATCH
    assert "3f78685" in error.message
    assert "89e6c98" in error.message
    assert A in error.detail
    assert B in error.detail


def test_no_repository_on_either_side_is_its_own_answer() -> None:
    parity = compare_heads(None, None)

    assert parity.verdict is ParityVerdict.NOT_A_REPOSITORY
    assert as_error(parity) is None


def test_a_repository_on_one_side_only_is_drift() -> None:
    parity = compare_heads(A, None)

    assert parity.verdict is ParityVerdict.DRIFT
    assert "only the host" in parity.why


def test_a_side_that_could_not_be_asked_leaves_it_unknown() -> None:
    error = WardenError.unavailable(UnavailableReason.NOT_RUNNING, "stopped")

    parity = compare_heads(A, None, sandbox_error=error)

    assert parity.verdict is ParityVerdict.UNKNOWN
    assert "sandbox HEAD could not be read" in parity.why
    assert "stopped" in parity.why
    assert as_error(parity) is None


def test_garbled_or_empty_output_is_unknown_not_drift() -> None:
    for garbled in ("", "fatal: not a git repository", "zzzzzzz"):
        parity = compare_heads(A, garbled)

        assert parity.verdict is ParityVerdict.UNKNOWN


commits = st.from_regex(r"[0-9a-f]{40}", fullmatch=True)


@given(host=commits, sandbox=commits)
def test_drift_is_exactly_inequality_of_full_ids(
    host: str,
    sandbox: str,
) -> None:
    parity = compare_heads(host, sandbox)

    assert (parity.verdict is ParityVerdict.EQUAL) == (host == sandbox)
    assert (as_error(parity) is None) == (host == sandbox)


@given(
    host=st.none() | st.text(max_size=70),
    sandbox=st.none() | st.text(max_size=70),
)
def test_any_output_gets_an_answer_with_a_reason(
    host: str | None,
    sandbox: str | None,
) -> None:
    parity = compare_heads(host, sandbox)

    assert parity.why
    assert (as_error(parity) is not None) == (
        parity.verdict is ParityVerdict.DRIFT
    )
