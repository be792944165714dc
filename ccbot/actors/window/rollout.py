"""The rollout side: prove which thread the pane's Codex writes, pump its new lines through the decoder
and renderer, deliver them (answers, the turn's status message, its end line) and commit the offset only
after Telegram accepted them.
"""

from __future__ import annotations

import contextlib
import functools
import html
from pathlib import Path

import structlog
import trio

from ccbot.actors.sender import call, post
from ccbot.actors.window.core import WindowCore, thread_start_time
from ccbot.actors.window.pieces import (
    ACTION_BY_KIND,
    MAX_STATUS_STEPS,
    STATUS_LIMIT,
    STATUS_WORKING,
    Mark,
    Piece,
    fits,
    is_answer,
    line_timestamp,
    merge_pieces,
    stamp_of,
    with_end_line,
)
from ccbot.codex import identity, procfs, records
from ccbot.codex import rollout as rec
from ccbot.codex.sessions import is_user_rollout
from ccbot.codex.tail import offset_of_first_line_after, read_lines
from ccbot.messages import Lane, Outbound, Priority
from ccbot.render.markdown import html_to_plain
from ccbot.render.messages import Rendered, render
from ccbot.render.split import split_html
from ccbot.screen.prompt_state import State
from ccbot.state import ownership
from ccbot.telegram.errors import CantParseEntities, Forbidden, TelegramError, ThreadNotFound, TopicClosed

log = structlog.get_logger("ccbot.window")

TAIL_FAST = 0.1  # rollout stat cadence while a turn runs
ANSWER_LINGER = 0.05  # Codex writes a turn's end ~10 ms after its last answer (recorded 0.169 rollouts)
LINGER_POLL = 0.01
TAIL_IDLE = 0.5
TAIL_IDLE_MAX = 5.0  # with change notifications an idle rollout is still stat'ed this often
THREAD_CLOCK_SLACK = 2.0
UNPROVABLE_GRACE = 3.0  # an in-process Codex may take a moment after its first screen to take its thread lock


class RolloutPart(WindowCore):
    """The proven rollout: its proof, its pump through decoder and renderer, delivery, and the commit."""

    async def _rollout_loop(self) -> None:
        watch = self.deps.rollouts
        try:
            await self._follow_rollout()
        finally:
            if watch is not None:
                watch.unwatch(self)

    async def _follow_rollout(self) -> None:
        last_proof = -1e9
        watch = self.deps.rollouts
        while True:
            now = trio.current_time()
            wanted = now < self.proof_until or self.binding.rollout_path is None
            on_plane = self.binding.appserver_socket is not None  # the pane's app-server names its thread
            due = now - last_proof >= (0.3 if now < self.proof_until else 1.0)
            if not on_plane and self.pane_pid is not None and wanted and due:
                last_proof = now
                await self._prove()
            path = self.binding.rollout_path
            if path is not None:
                if watch is not None and watch.watching(self) != path:
                    watch.watch(self, path, self._poke)  # before reading: no write can fall in between
                await self._pump()
            active = self.turn_active or trio.current_time() < self.active_until
            # a screen change or (with the watcher) any write to the rollout pokes ``changed``; the timeouts
            # cover a poke that fell between the read and this wait
            notified = self.deps.changes is not None or (watch is not None and path is not None)
            with trio.move_on_after(TAIL_FAST if active else TAIL_IDLE_MAX if notified else TAIL_IDLE):
                await self.changed.wait()

    async def _prove(self) -> None:
        """Follow the thread this pane's own Codex writes (``identity.classify_pane``), if the ownership
        rule lets this binding have it. Unprovable or contested evidence changes nothing and is reported
        to the topic once."""
        pid = self.pane_pid
        assert pid is not None
        evidence = await trio.to_thread.run_sync(functools.partial(
            procfs.pane_evidence, pid, self.deps.sessions_dir.parent, accept=is_user_rollout))
        verdict = identity.classify_pane(evidence, settled=self.machine.state in (State.READY, State.BUSY))
        b = self.binding
        if isinstance(verdict, identity.Unprovable):
            now = trio.current_time()
            self.unprovable_since = self.unprovable_since or now
            if verdict.code in ("daemon", "remote", "ambiguous") and now - self.unprovable_since >= UNPROVABLE_GRACE:
                fix = f"; {identity.DAEMON_CLIENT_FIX}" if verdict.code in ("daemon", "remote") else ""
                await self._refuse_once(verdict.code, f"⛔ ccbot cannot follow this window: {verdict.reason}. "
                                                      f"Nothing from it is posted here until that changes{fix}.")
            return
        self.unprovable_since = None
        path = verdict.rollout
        if path is None or str(path) == b.rollout_path:
            return
        thread_id = procfs.thread_id_from_path(path)
        if thread_id is None:
            return
        await self._follow_thread(thread_id, path)

    async def _follow_thread(self, thread_id: str, path: Path) -> None:
        """Deliver from now on the rollout ``path`` of thread ``thread_id`` — proven to be this pane's (by
        /proc, or by the pane's own app-server) — if the ownership rule lets this binding have it; a
        contested thread is refused once. The old thread's output is finished first; a thread that began
        before the binding is read from the binding's time on."""
        b = self.binding
        if str(path) == b.rollout_path:
            return
        holder = ownership.thread_holder(self.deps.keeper.state.bindings, b.key, thread_id)
        if holder is not None:
            await self._refuse_once(f"thread:{thread_id}", "⛔ This window now runs a Codex thread that another "
                                    "topic is bound to; its output stays in that topic, not here.")
            return
        if b.rollout_path is not None:
            await self._pump()  # finish the old thread's output before switching (/clear)
        offset = 0
        started = thread_start_time(thread_id)
        if started is not None and started < b.bound_at - THREAD_CLOCK_SLACK:
            # a resumed or hand-started thread: what it wrote before the binding is history, not news
            with contextlib.suppress(OSError):
                offset = await trio.to_thread.run_sync(
                    offset_of_first_line_after, path, b.bound_at - THREAD_CLOCK_SLACK)
        if ownership.thread_holder(self.deps.keeper.state.bindings, b.key, thread_id) is not None:
            return  # another binding took it during the awaits above
        b.rollout_path = str(path)
        b.thread_id = thread_id
        b.rollout_offset = offset
        b.decoder = {}
        b.rollout_inode, b.delivered_ts, b.delivered_run = None, "", 0
        b.known_rollouts = [*b.known_rollouts, str(path)][-20:]
        self.decoder = rec.RolloutDecoder()
        self.refused.clear()
        structlog.contextvars.bind_contextvars(thread=b.thread_id)
        log.info("rollout proven", path=str(path), offset=offset)
        await self.deps.keeper.save()

    async def _refuse_once(self, what: str, text: str) -> None:
        """Tell the topic ``text`` the first time ``what`` blocks the proof (until a thread is proven)."""
        if what in self.refused:
            return
        self.refused.add(what)
        log.warning("rollout proof refused", why=what)
        await self.say(text)

    async def _pump(self) -> None:
        """Read new complete lines, render, deliver, and commit the offset after each accepted message."""
        async with self.pump_lock:
            await self._pump_locked()

    async def _pump_locked(self) -> None:
        b = self.binding
        if b.rollout_path is None:
            return
        path = Path(b.rollout_path)
        if not ownership.may_deliver(self.deps.keeper.state.bindings, b, procfs.thread_id_from_path(path)):
            return  # not this topic's thread (any more): nothing is read, so nothing is lost
        read = read_lines(path, b.rollout_offset, b.rollout_inode)
        if read.missing or (read.reset and not read.lines):
            return  # a replaced file with nothing in it yet: keep everything as it was until lines come
        delivered: tuple[str, int] | None = None  # the last line delivered from the file this one replaced
        prev = Mark(b.rollout_offset, dict(b.decoder), b.delivered_ts, b.delivered_run)
        if read.reset:
            delivered = (b.delivered_ts, b.delivered_run) if b.delivered_ts else None
            log.warning("rollout truncated or replaced; reading it again from the start", path=str(path),
                        skipping_through=b.delivered_ts or None)
            b.rollout_offset, b.decoder = 0, {}
            self.decoder = rec.RolloutDecoder()
            prev = Mark(0, {})
        b.rollout_inode = read.inode
        if not read.lines:
            return
        self.last_progress, self.hang_reported = trio.current_time(), False
        pieces: list[Piece] = []
        prev = self._decode(read.lines, pieces, prev, delivered)
        # Codex ends a turn ~10 ms after its last answer: look again for a moment, so the answer can carry the
        # turn's end line and the turn costs one message
        linger_until = trio.current_time() + ANSWER_LINGER
        while self.turn_active and pieces and is_answer(pieces[-1]) and trio.current_time() < linger_until:
            await trio.sleep(LINGER_POLL)
            more = read_lines(path, prev.end, b.rollout_inode)
            if more.missing or more.reset:
                break
            prev = self._decode(more.lines, pieces, prev, None)
        merged = merge_pieces(pieces)
        index = 0
        while index < len(merged):
            piece = merged[index]
            after = merged[index + 1] if index + 1 < len(merged) else None
            if (after is not None and after.action == "status_end" and after.rendered is not None
                    and is_answer(piece) and b.status_message_id is None):
                if await self._act(piece, end_line=after.rendered.html):
                    self._end_turn()
                    piece, index = after, index + 1  # the end line went out with the answer
            else:
                await self._act(piece)
            await self._commit(piece.mark)
            index += 1
        await self._commit(prev)

    def _decode(self, lines: list[tuple[bytes, int]], pieces: list[Piece], prev: Mark,
                delivered: tuple[str, int] | None) -> Mark:
        """Decode ``lines`` (raw line, offset after it) into ``pieces``; return the last line's mark. Lines at
        or before ``delivered`` (a rewritten rollout's already delivered part, see ``stamp_of``) only feed the
        decoder."""
        for raw, end in lines:
            stamp = stamp_of(line_timestamp(raw), prev)
            produced: list[tuple[str, Rendered | None]] = []
            for record in self.decoder.feed(raw):
                self._observe(record)
                if delivered is not None and stamp[0] and stamp <= delivered:
                    continue
                if isinstance(record, records.TurnStarted):
                    produced.append(("status_start", None))
                for shown in render(record):
                    produced.append((ACTION_BY_KIND.get(shown.kind, "send"), shown))
            mark = Mark(end, self.decoder.snapshot(), *stamp)
            for index, (action, rendered) in enumerate(produced):
                # A crash after a piece that is not its line's last must resume at the line's start.
                pieces.append(Piece(action, rendered, mark if index == len(produced) - 1 else prev))
            prev = mark
        return prev

    def _observe(self, record: object) -> None:
        if isinstance(record, records.UserMessage):
            self.seen_user_texts.append(record.text)
            self._poke()
        elif isinstance(record, records.TurnStarted):
            self.turn_active = True
            self._poke()
        elif isinstance(record, records.TurnComplete | records.TurnAborted):
            self.turn_active = False
            self._poke()

    async def _commit(self, mark: Mark) -> None:
        b = self.binding
        if mark.end <= b.rollout_offset:
            return
        b.rollout_offset, b.decoder = mark.end, mark.snapshot
        b.delivered_ts, b.delivered_run = mark.ts, mark.run
        await self.deps.keeper.save()

    async def _act(self, piece: Piece, *, end_line: str | None = None) -> bool:
        """Deliver ``piece``. An answer given ``end_line`` (the turn's ``✓ Done …`` line) carries it under its
        last part when it fits; returns whether it did."""
        b = self.binding
        log.debug("deliver", action=piece.action, kind=piece.rendered.kind if piece.rendered else None,
                  status_message=b.status_message_id, end=piece.mark.end)
        if piece.action == "status_start":
            # no message yet: a plain turn costs only its answer (Telegram's group budget is 20 messages a
            # minute); the status message appears with the first tool step
            b.status_steps = []
            b.turn_answer_id, b.turn_answer_html = None, ""
        elif piece.action == "status_step" and piece.rendered is not None:
            b.status_steps = [*b.status_steps, piece.rendered.html][-MAX_STATUS_STEPS:]
            if b.status_message_id is None:
                b.status_message_id = await self._send_html(self._status_text(STATUS_WORKING), silent=True)
            else:
                post(self.deps.outbox, Outbound(
                    self.chat_id, "edit_message_text",
                    {"chat_id": self.chat_id, "message_id": b.status_message_id,
                     "text": self._status_text(STATUS_WORKING)},
                    priority=Priority.BEST_EFFORT, lane=Lane.PROGRESS, coalesce_key=f"status:{b.status_message_id}"))
        elif piece.action == "status_end" and piece.rendered is not None:
            message_id = b.status_message_id
            if message_id is not None:
                final = self._status_text(piece.rendered.html)
                if not await self._edit_html(message_id, final):
                    await self._send_html(final, silent=True)
            elif not await self._footnote_answer(piece.rendered.html):
                await self._send_html(piece.rendered.html, silent=True)  # a turn without an answer to carry it
            # only now: a shutdown mid-edit must leave the binding able to redo this piece as an edit
            self._end_turn()
        elif piece.rendered is not None:
            if piece.rendered.kind == "assistant":
                await self._close_stream()  # the finished answer replaces its streamed frames
            chunks = split_html(piece.rendered.html)
            carried = end_line is not None and fits(with_end_line(chunks[-1], end_line))
            if carried:
                chunks[-1] = with_end_line(chunks[-1], end_line or "")
            for chunk in chunks:
                sent = await self._send_html(chunk, silent=piece.rendered.kind not in ("assistant", "error"))
                if piece.rendered.kind == "assistant" and sent is not None:
                    b.turn_answer_id, b.turn_answer_html = sent, chunk
            return carried
        return False

    def _end_turn(self) -> None:
        b = self.binding
        b.status_message_id, b.status_steps = None, []
        b.turn_answer_id, b.turn_answer_html = None, ""

    async def _footnote_answer(self, line: str) -> bool:
        """Put a plain turn's end line (``✓ Done in 0.2 s · 8.7k tokens``) under the turn's last answer, by an
        edit in the progress lane, so the turn costs one message; False when there is no answer to carry it
        or the line would not fit."""
        b = self.binding
        if b.turn_answer_id is None:
            return False
        text = with_end_line(b.turn_answer_html, line)
        if not fits(text):
            return False
        await self.deps.outbox.send(Outbound(
            self.chat_id, "edit_message_text", {"chat_id": self.chat_id, "message_id": b.turn_answer_id,
                                                "text": text}, lane=Lane.PROGRESS))
        return True

    def _status_text(self, head: str) -> str:
        """The status message: its head line, then the turn's tool steps (oldest dropped past the limit)."""
        steps = list(self.binding.status_steps)
        dropped = 0
        while steps and len(html_to_plain("\n".join([head, *steps]))) > STATUS_LIMIT:
            steps.pop(0)
            dropped += 1
        lines = [head, *([f"<i>… {dropped} earlier steps</i>"] if dropped else []), *steps]
        return "\n".join(lines)

    async def _send_html(self, text: str, *, silent: bool) -> int | None:
        """Send one message (≤4096 visible chars); plain-text fallback on a parse error. Returns its id."""
        try:
            message = await self.say(text, wait=True, disable_notification=silent)
        except CantParseEntities:
            message = await self.say(html_to_plain(text), wait=True, parse_mode=None, disable_notification=silent)
        except (ThreadNotFound, TopicClosed, Forbidden) as exc:
            log.warning("topic unusable; unbinding", error=exc.description)
            await self.deps.on_gone(self.binding, "topic")
            raise _TopicGone() from exc
        except TelegramError as exc:
            log.error("message rejected; skipped", error=exc.description)
            return None
        return int(message.message_id) if message is not None else None

    async def _edit_html(self, message_id: int, text: str) -> bool:
        item = Outbound(self.chat_id, "edit_message_text",
                        {"chat_id": self.chat_id, "message_id": message_id, "text": text})
        try:
            await call(self.deps.outbox, item)
        except CantParseEntities:
            return await self._edit_html(message_id, html.escape(html_to_plain(text)))
        except TelegramError as exc:
            log.info("status edit failed", error=exc.description)
            return False
        return True



class _TopicGone(Exception):
    pass
