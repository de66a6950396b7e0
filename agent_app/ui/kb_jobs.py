"""Knowledge-base ingests started from the page: they run on their own thread and outlive the page run."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

import streamlit as st

from agent_app.errors import AppError
from agent_app.i18n import t

if TYPE_CHECKING:
    from agent_app.knowledge.ingest import IngestResult
    from agent_app.knowledge.service import KnowledgeService

log = logging.getLogger(__name__)


class IngestJob:
    """One "Add" click: its files ingested on a daemon thread, each file's progress readable any time.

    Navigating to another page ends the page run but not this thread, so coming back shows the
    files still indexing with their progress, and their results once they are done.
    """

    def __init__(
        self,
        kb: KnowledgeService,
        collection: str,
        files: list[tuple[str, bytes]],
        lang: str,
        *,
        confirm_ocr: bool = False,
    ) -> None:
        self.collection, self.lang = collection, lang
        self.confirm_ocr = confirm_ocr
        """The files are documents waiting for OCR above the page limit, which the user confirmed."""
        self._lock = threading.Lock()
        self._rows: dict[str, tuple[float, str, int, int]] = {
            name: (0.0, "queued", 0, 0) for name, _ in files
        }
        self.results: list[IngestResult] = []
        self.error: str | None = None
        """Why the whole job failed (e.g. a re-index is needed), localized; None otherwise."""
        self._thread = threading.Thread(
            target=self._run, args=(kb, files), name="kb-ingest", daemon=True
        )
        self._thread.start()

    def _run(self, kb: KnowledgeService, files: list[tuple[str, bytes]]) -> None:
        try:
            if self.confirm_ocr:
                self.results = [
                    kb.confirm_ocr(name, self.collection, self._report, lang=self.lang)
                    for name, _ in files
                ]
            else:
                self.results = kb.add_files(files, self.collection, self._report, lang=self.lang)
        except AppError as err:
            self.error = err.user_message(self.lang)
        except Exception:  # the last guard: a clear message on the page, the details in the log
            log.exception("knowledge ingest job failed")
            self.error = t("error.internal", self.lang)

    def _report(self, step: Any) -> None:
        with self._lock:
            self._rows[step.file] = (
                float(step.fraction),
                str(step.stage),
                int(step.done),
                int(step.total),
            )

    def rows(self) -> list[tuple[str, float, str, int, int]]:
        """(file, fraction done, stage, done, total) for every file of the job, in upload order.

        done/total count the stage's steps (scanned pages while reading them).
        """
        with self._lock:
            return [(name, *row) for name, row in self._rows.items()]

    @property
    def running(self) -> bool:
        """Whether the files are still being ingested."""
        return self._thread.is_alive()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for the job to end; True once it has."""
        self._thread.join(timeout_s)
        return not self._thread.is_alive()


class IngestJobs:
    """Every user's ingest jobs in this server process, by knowledge base and user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[tuple[str, str], list[IngestJob]] = {}

    @staticmethod
    def _key(kb: KnowledgeService) -> tuple[str, str]:
        return (str(kb.root), kb.user)

    def start(
        self,
        kb: KnowledgeService,
        collection: str,
        files: list[tuple[str, bytes]],
        lang: str,
        *,
        confirm_ocr: bool = False,
    ) -> IngestJob:
        """Start ingesting these (name, bytes) uploads into the user's collection.

        `confirm_ocr`: the names are documents waiting for OCR above the limit; read them now.
        """
        job = IngestJob(kb, collection, files, lang, confirm_ocr=confirm_ocr)
        with self._lock:
            self._jobs.setdefault(self._key(kb), []).append(job)
        return job

    def running(self, kb: KnowledgeService, collection: str) -> list[IngestJob]:
        """The user's jobs still ingesting into this collection."""
        with self._lock:
            jobs = list(self._jobs.get(self._key(kb), []))
        return [job for job in jobs if job.running and job.collection == collection]

    def take_finished(self, kb: KnowledgeService) -> list[IngestJob]:
        """The user's finished jobs (each handed out once, for its results to be shown)."""
        with self._lock:
            jobs = self._jobs.get(self._key(kb), [])
            done = [job for job in jobs if not job.running]
            self._jobs[self._key(kb)] = [job for job in jobs if job.running]
        return done


def ingest_jobs() -> IngestJobs:
    """The one job registry of this server (shared by all sessions, so a reload finds its jobs)."""
    return st.cache_resource(show_spinner=False)(IngestJobs)()
