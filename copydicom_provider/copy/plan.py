"""Non-duplicate planning: which candidates the destination lacks.

Orthanc IDs are the same on every Orthanc for the same instance, so no content is compared:
* a candidate study costs one request on each side (its instance list), and the set difference is
  what to copy; a study complete on the destination is settled by those two requests;
* loose candidate instances (received window, Splunk selection) are settled a page of 1000 per
  request on each side (``copy.loose``): absent from the destination is missing; held with another
  size is a correction on the source (a re-store with other content, same UIDs and so the same ID),
  planned as an *update*; held with the same size but not clearly received after the source's last
  store is compared by the MD5 each server recorded, an update when they differ. Instances of
  whole studies are compared by MD5 only on request (``compare_content``, the ``verify`` option,
  which also compares every loose one), since a study window holds no reception to compare against.
Requests run in parallel, bounded by the connections' ``max_parallel``.

Many candidate studies (the ``all`` window of an archive of small radiography studies, say) are
settled in bulk instead: both servers' series are read a page of 1000 at a time
(``/series?expand``, each with its instance IDs) and reduced to a digest per series; only series
whose digests differ are read again one by one. A no-op rerun over 5000 studies then costs ~10
requests per side instead of 10,000, and memory holds a digest per series, not every instance ID.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from copydicom_provider.copy.loose import DIFFERS, PAGE, SAME, compare_by_md5, held_by, settle
from copydicom_provider.copy.parallel import parallel_map, workers_for
from copydicom_provider.deid import AnonymizationProfile, Identity
from copydicom_provider.hooks.errors import OrthancError
from copydicom_provider.hooks.orthanc import OrthancHook


class CandidateIds(Protocol):
    """What a plan is made from: whole studies and loose instances (``jobs.candidates.Candidates``).

    A protocol, so that copying does not depend on how a job enumerates its candidates.
    """

    studies: list[str]
    instances: list[str]


@dataclass
class CopyPlan:
    """Instance IDs to copy (grouped by study, in order), and what was settled without copying.

    ``groups`` pairs each resource to push with the instances it covers: a study the destination
    lacks entirely is pushed as one study when it fits in a push job (one resource to name, not
    hundreds); anything else as single instances.
    """

    missing: list[str] = field(default_factory=list)
    #: source ID -> the ID expected on the destination, when it differs (anonymized copies)
    targets: dict[str, str] = field(default_factory=dict)
    #: source ID -> the profile that de-identifies the copy in the worker
    anonymize: dict[str, AnonymizationProfile] = field(default_factory=dict)
    #: source ID -> why it is not sent de-identified (may carry burned-in text)
    withheld: dict[str, str] = field(default_factory=dict)
    groups: list[tuple[str, list[str]]] = field(default_factory=list)
    #: instances the destination holds with other content than the source's (corrections)
    updates: list[str] = field(default_factory=list)
    candidates: int = 0
    already_present: int = 0
    vanished: list[str] = field(default_factory=list)


#: From this many candidate studies on, they are compared in bulk (a page of series per request).
BULK_STUDIES = 200


def series_digests(server: OrthancHook, studies: set[str]) -> dict[str, tuple[str, int, int]]:
    """Series ID -> (study ID, instance count, digest of its instance IDs), for series of ``studies``."""
    digests = {}
    for series in server.iter_expanded("series"):
        study = series.get("ParentStudy", "")
        if study in studies:
            instances = series.get("Instances") or []
            digests[series["ID"]] = (study, len(instances), hash(frozenset(instances)))
    return digests


def plan_copy(
    source: OrthancHook, destination: OrthancHook, candidates: CandidateIds, *, compare_content: bool = False
) -> CopyPlan:
    plan = CopyPlan()
    workers = workers_for(source, destination)
    if len(candidates.studies) >= BULK_STUDIES and not compare_content:
        _plan_studies_in_bulk(source, destination, candidates.studies, plan, workers)
    else:
        _plan_studies(source, destination, candidates.studies, plan, workers, compare_content)
    _plan_instances(source, destination, candidates.instances, plan, workers, compare_content)
    return plan


def _account_study(plan: CopyPlan, study_id: str, on_source: list[str], on_destination: set[str],
                   study_on_destination: bool) -> None:
    plan.candidates += len(on_source)
    missing = [instance for instance in on_source if instance not in on_destination]
    plan.already_present += len(on_source) - len(missing)
    plan.missing += missing
    if missing and not study_on_destination:
        plan.groups.append((study_id, missing))  # pushed as one study in peer mode
    else:
        plan.groups += [(instance, [instance]) for instance in missing]


def _plan_studies(source: OrthancHook, destination: OrthancHook, studies: list[str], plan: CopyPlan,
                  workers: int, compare_content: bool) -> None:
    def study_difference(study_id: str) -> tuple[str, list[str] | None, set[str]]:
        on_source = source.study_instance_ids(study_id)
        if on_source is None:
            return study_id, None, set()
        return study_id, on_source, set(destination.study_instance_ids(study_id) or ())

    held: list[str] = []  # instances of candidate studies on both sides, compared only with compare_content
    for study_id, on_source, on_destination in parallel_map(study_difference, studies, workers):
        if on_source is None:
            plan.vanished.append(study_id)
            continue
        _account_study(plan, study_id, on_source, on_destination, bool(on_destination))
        if compare_content:
            held += [i for i in on_source if i in on_destination]

    for instance_id, state in compare_by_md5(source, destination, held, workers).items():
        if state == DIFFERS:
            plan.updates.append(instance_id)
            plan.already_present -= 1


def _plan_studies_in_bulk(source: OrthancHook, destination: OrthancHook, studies: list[str], plan: CopyPlan,
                          workers: int) -> None:
    """Series digests of both servers, a page per request; only differing series are read one by one."""
    wanted = list(dict.fromkeys(studies))
    on_source = series_digests(source, set(wanted))
    on_destination = series_digests(destination, set(wanted))
    studies_on_destination = {study for study, _, _ in on_destination.values()}
    differing: dict[str, list[str]] = {}
    for series_id, (study, count, digest) in on_source.items():
        held = on_destination.get(series_id)
        if held is not None and held[1:] == (count, digest):
            plan.candidates += count
            plan.already_present += count
        else:
            differing.setdefault(study, []).append(series_id)
    listed = {study for study, _, _ in on_source.values()}
    plan.vanished += [study for study in wanted if study not in listed]

    def read(study: str) -> tuple[str, list[str], set[str]]:
        ids: list[str] = []
        held: set[str] = set()
        for series_id in differing[study]:
            ids += source.series_instance_ids(series_id) or []
            if series_id in on_destination:
                held.update(destination.series_instance_ids(series_id) or ())
        return study, ids, held

    for study, ids, held_ids in parallel_map(read, list(differing), workers):
        _account_study(plan, study, ids, held_ids, study in studies_on_destination)


def _plan_instances(source: OrthancHook, destination: OrthancHook, instances: list[str], plan: CopyPlan,
                    workers: int, compare_content: bool) -> None:
    planned = set(plan.missing)
    unique = [i for i in dict.fromkeys(instances) if i not in planned]
    states = settle(source, destination, unique, workers, compare_content=compare_content)
    for instance_id in unique:
        plan.candidates += 1
        state = states[instance_id]
        if state == SAME:
            plan.already_present += 1
        elif state == DIFFERS:
            plan.updates.append(instance_id)
        else:
            plan.missing.append(instance_id)
            plan.groups.append((instance_id, [instance_id]))


def plan_anonymized(
    source: OrthancHook, destination: OrthancHook, candidates: CandidateIds, profile: AnonymizationProfile
) -> CopyPlan:
    """Like :func:`plan_copy`, for de-identified copies: the destination holds them under other IDs.

    Each candidate's identifiers are read from the source (one request each: the patient and the
    flags the gate reads are not in any bulk reply), its anonymized ID is computed from the profile's
    deterministic pseudonyms, and the destination is asked for a page of those IDs per request
    (:func:`~.loose.held_by`), a page of candidates at a time so that memory stays bounded.
    """
    plan = CopyPlan()
    workers = workers_for(source, destination)
    instances = list(dict.fromkeys(candidates.instances))
    listed = parallel_map(source.study_instance_ids, candidates.studies, workers)
    for study_id, on_source in zip(candidates.studies, listed, strict=True):
        if on_source is None:
            plan.vanished.append(study_id)
        else:
            instances += [i for i in on_source if i not in plan.targets]

    def identify(instance_id: str) -> tuple[str, dict | None]:
        try:
            return instance_id, source.simplified_tags(instance_id)
        except OrthancError as error:
            if error.status == 404:
                return instance_id, None
            raise

    unique = list(dict.fromkeys(instances))
    for start in range(0, len(unique), PAGE):
        read = list(parallel_map(identify, unique[start:start + PAGE], workers))
        targets = {i: profile.target_id(Identity.from_tags(tags)) for i, tags in read if tags is not None}
        present = held_by(destination, list(targets.values()), workers)
        for instance_id, tags in read:
            if tags is None:
                plan.vanished.append(instance_id)
                continue
            plan.candidates += 1
            target = targets[instance_id]
            if target in present:
                plan.already_present += 1
            elif reason := profile.withheld_reason(tags):
                plan.withheld[instance_id] = reason
            else:
                plan.missing.append(instance_id)
                plan.targets[instance_id] = target
                plan.anonymize[instance_id] = profile
    return plan
