"""The job: the pipeline, the store and the decisions put together; and ``submit_many``.

:class:`BulkSubmission` is what the caller holds: an async iterator of
outcomes. The engine behind it (``_Job``) runs the pipeline's tasks, asks
``_decide`` what each answer and stored state means and does it: journal,
report, resend, retry later, stop. The optional collaborators (tracking,
``transaction_of``, Run Processor) are built only when their option is used.

The job lives only while it is consumed. Its tasks never hold the
``BulkSubmission``, so a caller that stops consuming it (cancelled, leaving
the loop, dropping it) lets it be collected, and that stops the job as
``aclose()`` does: no POST starts afterwards and no task of it is left.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Coroutine, Iterable
from typing import TYPE_CHECKING, Any, Unpack

import attrs

from omeda_async._errors import (
    CustomerMergedError,
    OmedaError,
    PayloadValidationError,
    SubmissionOutcomeUnknown,
)
from omeda_async._status import Outcome
from omeda_async._store import (
    CUSTOMER_SERVICE,
    ORDER_SERVICE,
    RecordState,
    StoredRecord,
    TrackingStore,
    store_in_use,
)
from omeda_async.models._payloads import Order
from omeda_async.models._responses import OrderReceipt, SubmissionReceipt

from ._decide import (
    AfterFailure,
    BeforeSending,
    after_failure,
    before_sending,
    resendable_states,
)
from ._dependencies import DependencyGate
from ._keys import key_of, request_body, with_field
from ._options import SERVICE_OF_KIND, BulkOptions, BulkOverrides
from ._outcome import (
    BulkSummary,
    SubmissionOutcome,
    Tally,
    init_outcome,
    reasons,
    record_error,
)
from ._pipeline import Output, Pipeline, Record
from ._processor import ProcessorBatcher
from ._sender import Submitter
from ._tracking import TrackingBridge

if TYPE_CHECKING:
    from omeda_async._poller import TrackingResult

__all__ = ["BulkSubmission", "first_error", "submit_many"]

_new = object.__new__


class _Job:
    """The engine of one ``submit_many`` job (see the module docstring)."""

    def __init__(self, submitter: Submitter, options: BulkOptions) -> None:
        self.submitter = submitter
        self.options = options
        # Ordered output holds outcomes back behind the oldest record, so it
        # gets a deeper read-ahead; both stay bounded.
        concurrency = options.concurrency
        self.pipeline = Pipeline(max(4 * concurrency, 256) if options.ordered else 2 * concurrency)
        self.output = Output(ordered=options.ordered)
        self.tally = Tally()
        self._service = None if options.kind is None else SERVICE_OF_KIND[options.kind]
        # Keys in this job from read to final outcome: in-job duplicates wait for nobody.
        self._active: dict[str, int] = {}
        self._tracking: TrackingBridge | None = None
        self._deps: DependencyGate | None = None
        if options.transaction_of is not None:
            self._deps = DependencyGate(
                options.transaction_of,
                store=options.store,
                in_job=self._active,
                reject=self._reject,
                release=self.pipeline.enqueue,
            )
        self._processor: ProcessorBatcher | None = None
        if options.run_processor:
            self._processor = ProcessorBatcher(
                submitter,
                size=options.processor_batch,
                wait=options.processor_wait,
                spawn=self._spawn,
                hand_off=self._hand_off,
            )
        # No journal, dependency, Run Processor or tracking: an accepted record's
        # outcome is its receipt, reported without another coroutine (see _submit).
        self._report_at_once = not (
            options.store is not None
            or options.transaction_of is not None
            or options.run_processor
            or options.track
        )
        # Keys this job began (and holds) but has not settled: True once the POST may
        # have left. Released when the job ends, so a store outlives a stopped job.
        self._claimed: dict[str, bool] = {}
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.runner: asyncio.Task[None] | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.finished = False
        self.fatal: BaseException | None = None

    # -- lifecycle -----------------------------------------------------------------

    def start(self, payloads: Any) -> None:
        if self.runner is None and not self.finished:
            self.started_at = self.submitter.clock.now()
            self.runner = asyncio.get_running_loop().create_task(self._run(payloads))

    def stop(self) -> None:
        """Stop now (synchronous): every task of the job is cancelled, so no POST starts after.

        Records in flight stay pending in the store (a re-run reports them
        unknown); tracked ones stay unfinished (a re-run resumes them).
        """
        runner = self.runner
        if runner is None:
            self.finished = True
            return
        if runner.done() or runner.cancelling():
            return  # stopped already: a second cancel would cut its teardown short
        for task in list(self._tasks):
            task.cancel()
        runner.cancel()

    async def aclose(self) -> None:
        self.stop()
        if self.runner is not None:
            await asyncio.wait([self.runner])

    async def stop_tracking(self) -> None:
        if self._tracking is not None:
            await self._tracking.stop()

    def summary(self) -> BulkSummary:
        if self.started_at is None:
            elapsed = 0.0
        else:
            end = self.ended_at if self.ended_at is not None else self.submitter.clock.now()
            elapsed = max(0.0, end - self.started_at)
        return self.tally.summary(elapsed=elapsed, finished=self.finished)

    async def _run(self, payloads: Any) -> None:
        options = self.options
        store = options.store
        try:
            async with contextlib.AsyncExitStack() as resources:
                if store is not None:
                    # Opened here unless the caller opened it; closed at the end if so.
                    await resources.enter_async_context(store_in_use(store))
                if options.track:
                    self._tracking = TrackingBridge(
                        self.submitter,
                        policy=options.poll_policy,
                        store=store,
                        max_tracked=options.max_tracked,
                        window=None if options.ordered else self.pipeline.window,
                        report=self._report_tracked,
                    )
                try:
                    if self._tracking is not None and store is not None:
                        await self._tracking.resume(store)
                    await self._work(payloads)
                finally:
                    self._group = None
                    if self._tracking is not None:
                        # Unclaimed resumed trackings stop here, unfinished in the store.
                        await self._tracking.close()
                    if store is not None and self._claimed:
                        await self._release(store)
        except BaseExceptionGroup as group_error:
            self.fatal = first_error(group_error)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # opening the store or resuming failed: the job's end
            self.fatal = exc
        finally:
            self.ended_at = self.submitter.clock.now()
            self.finished = True
            self.output.wake()

    async def _work(self, payloads: Any) -> None:
        """The reader, the workers (and the tracking feed) until every record is reported."""
        async with asyncio.TaskGroup() as group:
            self._group = group
            pipeline = self.pipeline
            self._spawn(pipeline.read(payloads, self._admit))
            # Without transaction_of there is nothing to check before a record's
            # first POST (the store's begin decides): workers send straight away.
            handle = self._submit if self._deps is None else self._check_then_submit
            for _ in range(self.options.concurrency):
                self._spawn(pipeline.work(handle))
            if self._tracking is not None:
                self._spawn(self._tracking.feed())
            await pipeline.all_accounted.wait()
            for task in list(self._tasks):
                task.cancel()

    async def _release(self, store: TrackingStore) -> None:
        """Let go of the keys still held: a record whose POST never started is handed back
        as it was; one whose POST may have left stays pending, for a re-run to report it
        unknown (the job stopped before Omeda's answer)."""
        claimed, self._claimed = self._claimed, {}
        for key, sent in claimed.items():
            try:
                await store.release(key, sent=sent)
            except (OmedaError, RuntimeError) as exc:
                # The store is failing (likely why the job stops): the record stays
                # pending, which a re-run reports unknown. Never sent twice either way.
                if self.fatal is None:
                    self.fatal = exc
                return

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        assert self._group is not None
        task = self._group.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- reading ---------------------------------------------------------------------

    def _admit(self, index: int, payload: Any) -> None:
        """Key one record read from the input and queue it (or answer it at once)."""
        self.tally.total += 1
        service = self._service
        if service is None:
            service = ORDER_SERVICE if isinstance(payload, Order) else CUSTOMER_SERVICE
        body = request_body(payload, service)
        record = Record(index, payload, service, body, self.pipeline.window)
        key_function = self.options.key
        try:
            if key_function is None:
                key = key_of(payload, service, body if type(body) is bytes else None)
            else:
                key = key_function(payload)
            if not isinstance(key, str) or not key:
                raise TypeError("a record key must be a non-empty string")
        except Exception as exc:  # the caller's key function, on a malformed row
            # A payload that breaks a rule (an unknown key nested too deep for its
            # canonical JSON, say) is rejected for the rule it breaks, as validate says.
            error = (
                body
                if isinstance(body, PayloadValidationError)
                else record_error(
                    "", f"cannot key this record ({type(exc).__name__}); nothing was sent.", "key"
                )
            )
            self._report(record, RecordState.REJECTED, None, error, None, False)
            return
        record.key = key
        first = self._active.get(key)
        if first is not None:
            self._report(record, RecordState.PENDING, None, None, None, True, first)
            return
        self._active[key] = index
        self.pipeline.enqueue(record)

    # -- what the store and the job already know ---------------------------------------

    async def _check_then_submit(self, record: Record) -> None:
        """``transaction_of``: an Add Order waits for the record whose TransactionId it names."""
        if not record.checked and record.service == ORDER_SERVICE:
            record.checked = True
            if await self._settled_before(record):
                return
            assert self._deps is not None
            if not await self._deps.ready(record):
                return
        await self._submit(record)

    async def _settled_before(self, record: Record) -> bool:
        """Answer an order the store settled in an earlier run, before it waits for anything."""
        store = self.options.store
        if store is None:
            return False
        assert record.key is not None
        stored = await store.get(record.key)
        if stored is None or stored.state is RecordState.PENDING:
            return False  # new, or in flight (here or elsewhere): begin decides
        decision = before_sending(
            stored,
            resend_unknown=self.options.resend_unknown,
            tracking=self._tracking is not None,
        )
        if decision is BeforeSending.SEND:
            return False
        record.stored = stored
        await self._settle(record, decision, stored)
        return True

    async def _settle(
        self, record: Record, decision: BeforeSending, stored: StoredRecord | None
    ) -> None:
        """Report a record that is not sent in this run, as ``decision`` says."""
        key = record.key
        assert key is not None
        record.skipped = True
        if decision is BeforeSending.IN_FLIGHT_ELSEWHERE or stored is None:
            # Another job sending it reports it; nothing is sent, or recorded, here.
            self._report(record, RecordState.PENDING, None, None, None, True)
            return
        tid = stored.transaction_id if stored.service == CUSTOMER_SERVICE else None
        if decision is BeforeSending.FINISHED:
            await self._ended(key, tid, "")
            parked = self._tracking.parked(key) if self._tracking is not None else None
            self._report(record, RecordState.FINISHED, None, None, parked, True)
        elif decision is BeforeSending.ACCEPTED:
            await self._ended(key, tid, "")
            self._report(record, RecordState.ACCEPTED, None, None, None, True)
        elif decision is BeforeSending.RETRACK:
            await self._ended(key, tid, "")
            assert self._tracking is not None
            assert tid is not None
            await self._tracking.follow_resumed(record, tid)
        else:  # UNKNOWN, or a stale PENDING to journal as unknown first
            if decision is BeforeSending.STALE_PENDING:
                reason = (
                    "a previous run stopped after sending began, before Omeda's answer was recorded"
                )
                store = self.options.store
                assert store is not None
                await store.mark_unknown(key, reason)
            else:
                reason = stored.errors[0] if stored.errors else "its outcome is unknown"
            error = SubmissionOutcomeUnknown(
                f"not resent: {reason} (resend_unknown=True resends it)",
                payload=record.payload,
                service=record.service,
            )
            await self._ended(key, None, "its outcome is unknown")
            self._report(record, RecordState.UNKNOWN, None, error, None, True)

    async def _ended(self, key: str, transaction_id: int | None, why: str) -> None:
        """A record's submission ended: Add Orders naming it may go (``transaction_of``)."""
        if self._deps is not None:
            await self._deps.ended(key, transaction_id, why)

    # -- sending ---------------------------------------------------------------------

    async def _submit(self, record: Record) -> None:
        options = self.options
        store = options.store
        submitter = self.submitter
        key = record.key
        assert key is not None
        # Raises before anything is sent (a closed client, no input id): the job stops.
        input_id = submitter.check_submission(record.service, input_id=options.input_id)
        if store is not None and not await self._begin(record, store):
            return
        while True:
            if store is not None:
                self._claimed[key] = True  # from here on the POST may leave
            record.attempts += 1
            body = record.body
            try:
                if not isinstance(body, bytes):
                    # Broke a rule when it was read: rejected with those violations, unsent.
                    raise body
                self.tally.posts += 1
                receipt = await submitter.post_submission(
                    record.service, record.payload, body, input_id=input_id
                )
            except Exception as exc:
                decision = after_failure(
                    exc,
                    follow_merges=options.follow_merges,
                    merged_already=record.merged_into is not None,
                    pending_tries=record.pending_tries,
                    pending_retries=options.pending_retries,
                )
                if decision is AfterFailure.RESEND_MERGED and isinstance(exc, CustomerMergedError):
                    # Omeda: resend with the customer it was merged into (once).
                    merged_into = exc.merged_into_customer_id
                    record.merged_into = merged_into
                    record.change_payload(
                        with_field(
                            record.payload, "omeda_customer_id", "OmedaCustomerId", merged_into
                        )
                    )
                    self.tally.merges_followed += 1
                    continue
                await self._failed(record, exc, decision)
                return
            if self._report_at_once:
                # The usual bulk job: reported at once, without another coroutine.
                record.receipt = receipt
                self._report(record, RecordState.ACCEPTED, receipt, None, None, False)
            else:
                await self._accepted(record, receipt)
            return

    async def _begin(self, record: Record, store: TrackingStore) -> bool:
        """Take the record's key in the store (atomic); True to send it now.

        Otherwise what the store holds says what the record is (skipped,
        re-tracked, unknown, in flight elsewhere), and it is reported so.
        """
        key = record.key
        assert key is not None
        resend_unknown = self.options.resend_unknown
        # Claimed before the await: a job stopped while the store answers hands it back.
        self._claimed[key] = False
        try:
            begun = await store.begin(
                key, service=record.service, resend=resendable_states(resend_unknown=resend_unknown)
            )
        except asyncio.CancelledError:
            raise
        except BaseException:
            del self._claimed[key]
            raise
        record.stored = begun.record
        if begun.won:
            return True
        del self._claimed[key]
        decision = before_sending(
            begun.record,
            resend_unknown=resend_unknown,
            tracking=self._tracking is not None,
            held_elsewhere=begun.held_elsewhere,
        )
        if decision is BeforeSending.SEND:
            # The store would not give it although its record allows a send: another
            # caller has it.
            decision = BeforeSending.IN_FLIGHT_ELSEWHERE
        await self._settle(record, decision, begun.record)
        return False

    async def _failed(self, record: Record, exc: Exception, decision: AfterFailure) -> None:
        """Do what ``decision`` says of a record whose POST raised ``exc``."""
        if decision is AfterFailure.FAIL:
            # Not a documented answer: the POST may have left. The record stays
            # pending in the store (a re-run reports it unknown); the job stops.
            raise exc
        key = record.key
        assert key is not None
        store = self.options.store
        if decision is AfterFailure.UNKNOWN:
            assert isinstance(exc, OmedaError)
            if store is not None:
                await store.mark_unknown(key, str(exc))
                self._claimed.pop(key, None)
            await self._ended(key, None, "its outcome is unknown")
            self._report(record, RecordState.UNKNOWN, None, exc, None, record.skipped)
            return
        assert isinstance(exc, OmedaError)
        if decision is AfterFailure.RETRY_LATER:
            # Omeda: "pending deactivation. Please try again later": later, a few times.
            record.pending_tries += 1
            self.tally.pending_retries += 1
            if store is not None:
                await store.reject(key, reasons(exc))
                self._claimed.pop(key, None)  # begun again when it is retried
            self._spawn(self._retry_later(record))
            return
        await self._reject(record, exc)
        if decision is AfterFailure.STOP:
            raise exc  # every further record would be refused as well: stop the job

    async def _retry_later(self, record: Record) -> None:
        await self.submitter.clock.sleep(self.options.pending_retry_delay)
        self.pipeline.enqueue(record)

    async def _reject(self, record: Record, exc: OmedaError) -> None:
        store = self.options.store
        key = record.key
        if key is not None:
            if store is not None:
                await store.reject(key, reasons(exc))
                self._claimed.pop(key, None)
            await self._ended(key, None, "it was rejected")
        self._report(record, RecordState.REJECTED, None, exc, None, record.skipped)

    async def _accepted(self, record: Record, receipt: SubmissionReceipt | OrderReceipt) -> None:
        key = record.key
        assert key is not None
        record.receipt = receipt
        tid: int | None
        if isinstance(receipt, SubmissionReceipt):
            tid = stored_id = receipt.transaction_id
        else:
            tid, stored_id = None, receipt.order_id
        store = self.options.store
        if store is not None:
            # Durable before it is reported (DESIGN.md, "Nothing lost").
            await store.accept(key, stored_id, service=record.service)
            self._claimed.pop(key, None)
            if tid is None:
                # An OrderId cannot be followed with Transaction Lookup: nothing to resume.
                await store.finish(key, outcome=Outcome.PENDING, status=None)
        await self._ended(key, tid, "")
        if tid is not None and self._processor is not None:
            self._processor.add(record, tid)
            return
        await self._hand_off(record, tid)

    async def _hand_off(self, record: Record, transaction_id: int | None) -> None:
        """An accepted record: follow it (``track=True``) or report it."""
        if self._tracking is not None and transaction_id is not None:
            await self._tracking.follow(record, transaction_id)
        else:
            self._report(record, RecordState.ACCEPTED, record.receipt, None, None, record.skipped)

    # -- output ----------------------------------------------------------------------

    def _report_tracked(
        self, record: Record, state: RecordState, result: TrackingResult | None
    ) -> None:
        self._report(record, state, record.receipt, None, result, record.skipped)

    def _report(
        self,
        record: Record,
        state: RecordState,
        receipt: SubmissionReceipt | OrderReceipt | None,
        error: OmedaError | None,
        result: TrackingResult | None,
        skipped: bool,
        duplicate_of: int | None = None,
    ) -> None:
        """Report a record's one and only outcome (the one place outcomes are made)."""
        outcome: SubmissionOutcome = _new(SubmissionOutcome)
        init_outcome(
            outcome,
            index=record.index,
            key=record.key,
            receipt=receipt,
            error=error,
            result=result,
            state=state,
            service=record.service,
            skipped=skipped,
            duplicate_of=duplicate_of,
            stored=record.stored,
            merged_into=record.merged_into,
            attempts=record.attempts,
            processor=record.processor,
        )
        self.tally.count(outcome)
        # The record's key is free again: a later identical row is its own record.
        key = record.key
        if key is not None and self._active.get(key) == record.index:
            del self._active[key]
        held = record.held
        record.held = []
        self.output.put(outcome, held)
        pipeline = self.pipeline
        pipeline.open -= 1
        if pipeline.open == 0:
            pipeline.check_accounted()


def first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The error that stopped the job (not the cancellations it caused)."""
    errors: list[BaseException] = []

    def walk(error: BaseException) -> None:
        if isinstance(error, BaseExceptionGroup):
            for inner in error.exceptions:
                walk(inner)
        else:
            errors.append(error)

    walk(group)
    for error in errors:
        if not isinstance(error, asyncio.CancelledError):
            return error
    return errors[0] if errors else group


class _Wakeup(asyncio.Future[None]):
    """The consumer's wake-up: cancelling the consumer cancels it, and that stops the job.

    ``Task.cancel()`` cancels the future its task awaits synchronously, so the
    job stops at the very moment its consumer is cancelled: no POST starts
    between the cancel and the consumer's next turn.
    """

    __slots__ = ("_job",)

    def __init__(self, job: _Job) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self._job = job

    def cancel(self, msg: Any | None = None) -> bool:
        self._job.stop()
        return super().cancel(msg=msg)


class BulkSubmission:
    """A running ``submit_many`` job: an async iterator of :class:`SubmissionOutcome`.

    Iterate it (``async for outcome in job``) or use it as an async context
    manager; ``summary`` gives the counts at any time, final once iteration
    has ended. The job lives only while it is consumed: ``await job.aclose()``,
    leaving the ``async with`` block, cancelling the task that iterates it, or
    dropping it (leaving an ``async for`` over ``client.submit_many(...)``)
    stops it at once. Records in flight then stay pending in the store (a
    re-run reports them unknown) and tracked ones unfinished (a re-run resumes
    them).
    """

    __slots__ = ("__weakref__", "_fatal_raised", "_job", "_payloads")

    def __init__(self, job: _Job, payloads: Any) -> None:
        self._job = job
        self._payloads: Any = payloads
        self._fatal_raised = False

    def __repr__(self) -> str:
        job = self._job
        state = "finished" if job.finished else ("running" if job.runner else "not started")
        return f"BulkSubmission({state}, {job.summary()})"

    def __del__(self) -> None:
        # Dropped while running (the consumer left its loop or is gone): stop the
        # job, which is not kept alive by anything else it could report to.
        job = getattr(self, "_job", None)
        if job is not None and job.runner is not None and not job.finished:
            # A closed event loop refuses the cancellations: its tasks are gone with it.
            with contextlib.suppress(RuntimeError):
                job.stop()

    @property
    def summary(self) -> BulkSummary:
        """The job's counts so far (final once iteration has ended)."""
        return self._job.summary()

    def __aiter__(self) -> BulkSubmission:
        return self

    async def __anext__(self) -> SubmissionOutcome:
        job = self._job
        if job.runner is None:
            self._start()
        output = job.output
        while True:
            outcome = output.take(finished=job.finished)
            if outcome is not None:
                return outcome
            if job.finished:
                if job.fatal is not None and not self._fatal_raised:
                    self._fatal_raised = True
                    raise job.fatal
                raise StopAsyncIteration
            waiter = output.waiter = _Wakeup(job)
            try:
                await waiter
            except asyncio.CancelledError:
                # The consumer was cancelled (the job stopped then, see _Wakeup): wait
                # for its teardown, so no task of it outlives this call.
                await job.aclose()
                raise
            finally:
                output.waiter = None

    async def __aenter__(self) -> BulkSubmission:
        self._start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def _start(self) -> None:
        payloads, self._payloads = self._payloads, None
        if payloads is not None:
            self._job.start(payloads)

    async def aclose(self) -> None:
        """Stop the job now (idempotent); what was recorded stays recorded."""
        self._payloads = None
        await self._job.aclose()

    async def stop_tracking(self) -> None:
        """Stop following transactions now (``track=True``); the job goes on without.

        Records still followed are reported with their CANCELLED result, still
        ACCEPTED and unfinished in the store (``poller.resume()`` or a re-run
        follows them again); records accepted from now on are reported at once.
        """
        await self._job.stop_tracking()


def submit_many(
    client: Submitter,
    payloads: Iterable[Any] | AsyncIterable[Any],
    options: BulkOptions | None = None,
    **overrides: Unpack[BulkOverrides],
) -> BulkSubmission:
    """Submit many records, at most ``concurrency`` at once; iterate the outcomes.

    ``payloads``: models or wire dicts, from a sync or async iterable read
    lazily (never held in memory as a whole). ``options``: a
    :class:`BulkOptions` (every option is described there); keyword
    ``overrides`` replace some of its fields. Each record is validated and
    serialized once, when it is read; its body is sent as built, and (by
    default) its key is a hash of that body.

    With a store, a re-run skips what was done (re-tracking, with
    ``track=True``, records accepted but unfinished), never resends a record
    whose outcome is unknown unless ``resend_unknown=True``, and resends those
    that were rejected (never queued). Without a store a finished record is
    not remembered: identical rows far apart are each sent (rows identical to
    one still in flight are skipped).
    """
    if options is None:
        options = BulkOptions(**overrides)
    elif not isinstance(options, BulkOptions):
        raise TypeError(f"options must be a BulkOptions, not {type(options).__name__}")
    elif overrides:
        options = attrs.evolve(options, **overrides)
    if not isinstance(payloads, Iterable | AsyncIterable):
        raise TypeError(
            f"payloads must be an iterable or async iterable, not {type(payloads).__name__}"
        )
    return BulkSubmission(_Job(client, options), payloads)
