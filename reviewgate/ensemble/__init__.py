"""The ensemble run: ballots fanned out to every (seat, hat), seat questions and grouping, the
verdict cache, the decision record and its shadow replay, and the pipeline that wires them."""
