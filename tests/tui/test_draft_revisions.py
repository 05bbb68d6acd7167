"""The composer's revisions (tui/drafts.py): what a draft save and a send carry, so that the
server can refuse a save of what was already sent."""

from __future__ import annotations

from tui.drafts import DraftKeeper, DraftState, RevisionClock


def test_the_clock_only_goes_forward_whatever_the_time_does():
    times = iter([100.0, 100.0, 99.0, 200.0])
    clock = RevisionClock(lambda: next(times))
    first, same_ms, clock_went_back = clock.next(), clock.next(), clock.next()
    assert (first, same_ms, clock_went_back) == (100_000, 100_001, 100_002)
    clock.heard(300_000)  # a draft saved by a terminal whose clock is ahead
    assert clock.next() == 300_001


def test_a_composer_state_read_again_keeps_its_revision_and_a_change_gets_a_newer_one():
    """What the send carries is the revision the unchanged composer was saved with (the
    quit's save of the same text is then not newer than the send); a change is newer."""
    keeper = DraftKeeper(client=None, clock=RevisionClock(lambda: 1.0))  # type: ignore[arg-type]
    typed = keeper.revision(7, DraftState("On its way!"))
    assert keeper.revision(7, DraftState("On its way!")) == typed
    assert keeper.revision(7, DraftState("On its way!", note=True)) > typed
    more = keeper.revision(7, DraftState("On its way! Anything else?"))
    assert more > typed
    assert keeper.revision(8, DraftState("On its way! Anything else?")) > more  # per thread
