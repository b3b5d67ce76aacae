"""``submit_many``: push many records to Omeda without queueing one twice or losing one.

One job reads payloads lazily (a sync or async iterable, with backpressure:
reading waits while the pipeline is full, so a million-row generator keeps
memory flat), gives each record a stable key, and runs at most
``concurrency`` submissions at once. Every record read ends as exactly one
:class:`SubmissionOutcome`; validation failures, Omeda's refusals and unknown
outcomes are outcomes of their record, never the end of the job.

With a store (``SqliteStore`` for durable work) each record is journaled:
``begin`` (atomic and durable: the job wins the record, or learns what the store
holds, in one step) before its POST, ``accept`` (durable) before its outcome is
reported, ``reject`` or ``mark_unknown`` otherwise. Jobs sharing a store never
send one record twice: a record another job is sending is reported skipped, in
flight elsewhere. Running the same job again with the same store:

- skips records already accepted or finished (re-tracking, with
  ``track=True``, the accepted-but-unfinished ones: ``poller.resume()``);
- does not resend records whose outcome is unknown (including those a crash
  left *pending*: their POST may have left) unless ``resend_unknown=True``;
  they are reported as unknown outcomes for the user to reconcile;
- resends records that were rejected (they were never queued).

Only ``SubmissionOutcomeUnknown`` (DESIGN.md, "No duplicate submissions") and
a stop (crash, ``aclose()``, a cancelled or dropped consumer, a fatal error)
after a record's POST started and before Omeda's answer leave a record
unknown; a record stopped before its POST started is handed back as it was.

What stops a job (after every outcome produced so far is delivered): a wrong
app id or input id (every further record would be refused too), a
``StoreError`` (the journal can no longer record what is sent), an exception
raised by the payload iterable itself, an exception the client does not
document, or a bug. Records in flight at that moment stay *pending* in the
store: a re-run reports them as unknown.

The package: ``_options`` (:class:`BulkOptions`), ``_decide`` (what each answer
and stored state means: pure), ``_pipeline`` (reader, workers, output),
``_tracking``/``_dependencies``/``_processor`` (the optional collaborators),
``_outcome`` (outcomes and their counts), ``_keys`` (bodies and keys),
``_sender`` (what the job needs from a client) and ``_job`` (the job).
"""

from ._job import BulkSubmission, submit_many
from ._keys import record_key
from ._options import BulkOptions, BulkOverrides, Kind
from ._outcome import BulkSummary, SubmissionOutcome, reasons
from ._sender import Submitter

__all__ = [
    "BulkOptions",
    "BulkOverrides",
    "BulkSubmission",
    "BulkSummary",
    "Kind",
    "SubmissionOutcome",
    "Submitter",
    "reasons",
    "record_key",
    "submit_many",
]
