//! The behaviour every [`Store`] must show, written once against the trait.
//!
//! Why it is built this way: SPEC "One relay, then many" asks that the SQLite
//! and PostgreSQL stores pass the same test suite. Each test here takes a
//! [`Harness`] (a fresh, empty store and a way to open it again as another
//! process would); a store's own test module runs them all with
//! [`conformance_tests!`], so a test added here runs against every store.
//! What only one store can show (its pragmas, raw-SQL tampering, its files)
//! stays in that store's module.

use std::sync::{Arc, Barrier};

use super::*;
use crate::accounts::{self, Role};
use crate::finding::{Confidence, Finding, Kind, Location};
use crate::rules::{RuleAction, RuleId};
use crate::verdict::{Action, FiredRule, RecipientCounts, Rewrites, Verdict};

/// A fresh, empty store to test, kept alive (with its files or schema) for
/// as long as the harness lives.
pub(crate) trait Harness {
    /// The store under test.
    fn store(&self) -> &dyn Store;
    /// The store under test, to share with threads.
    fn handle(&self) -> Arc<dyn Store>;
    /// A second handle on the same data, opened as another process would.
    fn reopen(&self) -> Arc<dyn Store>;
}

/// `conformance_tests!(make_harness())`: one `#[test]` per conformance test,
/// each on a harness of its own.
macro_rules! conformance_tests {
    ($harness:expr) => {
        $crate::quarantine::conformance::conformance_tests!(@each $harness;
            a_held_message_comes_back_byte_for_byte,
            list_filters_and_pages_newest_first,
            two_processes_claiming_at_once_get_one_release,
            a_release_is_claimed_delivered_and_never_repeated,
            a_refused_release_goes_back_to_held_with_the_error,
            an_unknown_release_outcome_is_resolved_by_an_operator,
            reject_and_the_errors_of_deciding_twice,
            purge_removes_bodies_and_keeps_metadata_and_audit,
            notices_fall_due_are_leased_retried_and_sent,
            a_hold_and_its_notices_are_written_together_or_not_at_all,
            the_audit_log_chains_its_entries,
            a_hold_under_a_chosen_id_is_refused_if_the_id_is_taken,
            accounts_are_added_found_and_listed,
            an_account_is_refused_when_its_name_domains_or_hash_are_wrong,
            a_password_change_and_a_disabling_end_the_sessions,
            sessions_last_until_they_expire_and_are_shared,
            sessions_are_refused_for_raw_tokens_and_missing_or_disabled_accounts,
            no_password_or_hash_reaches_the_audit_log,
        );
    };
    (@each $harness:expr; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let harness = $harness;
                $crate::quarantine::conformance::$name(&harness);
            }
        )*
    };
}
pub(crate) use conformance_tests;

/// 2026-11-23 10:01 UTC.
pub(crate) const T0: i64 = 1_795_428_060;
pub(crate) const DAY: i64 = 86_400;

pub(crate) fn verdict(rules: &[RuleId]) -> Verdict {
    Verdict {
        action: Action::Hold,
        outbound: true,
        encrypted: false,
        rules: rules
            .iter()
            .map(|&rule| FiredRule {
                rule,
                action: if rule == RuleId::Disclaimer {
                    RuleAction::Rewrite
                } else {
                    RuleAction::Hold
                },
                reason: format!("{} fired", rule.as_str()),
            })
            .collect(),
        findings: vec![Finding {
            kind: Kind::Upn,
            count: 1,
            confidence: Confidence::High,
            location: Location::Attachment("pupils.csv".into()),
            sample: "A801…345".into(),
        }],
        recipients: RecipientCounts {
            internal: 0,
            external: 1,
            trusted: 0,
            visible_external: 1,
        },
        skipped: vec![],
        monitor: None,
        rewrites: Rewrites::default(),
        attachments: Vec::new(),
    }
}

pub(crate) fn new_hold(sender: &str, rules: &[RuleId]) -> NewHold {
    NewHold {
        queue_id: Some("4XyZ1Q".into()),
        sender: sender.into(),
        recipients: vec!["parent@example.com".into(), "head@school.example".into()],
        auth_user: Some("jsmith".into()),
        message: b"From: teacher@school.example\r\nSubject: report\r\n\r\nHello\r\n".to_vec(),
        verdict: verdict(rules),
    }
}

fn status_of(store: &dyn Store, id: &str) -> Status {
    store.get(id).expect("get").expect("the hold").summary.status
}

fn actions_for(store: &dyn Store, id: &str) -> Vec<String> {
    store
        .audit_for(id)
        .expect("the audit log")
        .into_iter()
        .map(|r| r.action)
        .collect()
}

pub(crate) fn a_held_message_comes_back_byte_for_byte(h: &dyn Harness) {
    let store = h.store();
    let message = b"From: teacher@school.example\r\nSubject: caf\xe9 \xff\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
                    line one\r\n\x00\x80\x81 raw 8-bit\r\nbare LF\nbare CR\r.\r\n"
        .to_vec();
    let mut new = new_hold("Teacher@School.example", &[RuleId::PersonalData, RuleId::Disclaimer]);
    new.message = message.clone();
    let expected_verdict = serde_json::to_string(&new.verdict).expect("json");
    let id = store.hold(new, T0).expect("held");
    assert!(id.starts_with("SG-") && id.len() == 11, "{id}");

    let held = store.get(&id).expect("get").expect("found");
    assert_eq!(held.message.as_deref(), Some(&message[..]));
    assert_eq!(held.verdict_json, expected_verdict);
    let s = &held.summary;
    assert_eq!(s.id, id);
    assert_eq!(s.status, Status::Held);
    assert_eq!(s.queue_id.as_deref(), Some("4XyZ1Q"));
    assert_eq!(s.sender, "Teacher@School.example");
    assert_eq!(s.recipients, vec!["parent@example.com", "head@school.example"]);
    assert_eq!(s.auth_user.as_deref(), Some("jsmith"));
    assert_eq!(s.rules, vec!["personal-data", "disclaimer"]);
    assert_eq!(s.action, "hold");
    assert_eq!(s.held_at, T0);
    assert_eq!((s.decided_at, s.purged_at, s.release_claimed_at), (None, None, None));

    // Ids are found however they are typed; unknown ones are not.
    assert!(store.get(&id.to_lowercase()).expect("get").is_some());
    assert!(store.get("SG-00000000").expect("get").is_none());

    let log = store.audit_log(None).expect("log");
    assert_eq!(log.len(), 1);
    assert_eq!((log[0].actor.as_str(), log[0].action.as_str()), ("milter", "hold"));
    assert_eq!(log[0].hold_id.as_deref(), Some(id.as_str()));
    // Debug output never carries the message.
    assert!(!format!("{held:?}").contains("raw 8-bit"));
}

pub(crate) fn list_filters_and_pages_newest_first(h: &dyn Harness) {
    let store = h.store();
    let a = store
        .hold(new_hold("alice@school.example", &[RuleId::PersonalData]), T0)
        .expect("a");
    let b = store
        .hold(
            new_hold("bob@school.example", &[RuleId::Bcc, RuleId::Disclaimer]),
            T0 + 10,
        )
        .expect("b");
    let c = store
        .hold(
            new_hold(
                "Alice@School.Example",
                &[RuleId::SensitiveSubject, RuleId::PersonalData],
            ),
            T0 + 20,
        )
        .expect("c");
    let d = store
        .hold(new_hold("carol@school.example", &[RuleId::ProtectiveMarking]), T0 + 30)
        .expect("d");
    store.reject(&b, "dpo", Some("no"), T0 + 40).expect("rejected");

    let ids =
        |filter: ListFilter| -> Vec<String> { store.list(&filter).expect("list").into_iter().map(|s| s.id).collect() };
    assert_eq!(
        ids(ListFilter::default()),
        vec![d.clone(), c.clone(), b.clone(), a.clone()]
    );
    let held = ListFilter {
        status: Some(Status::Held),
        ..Default::default()
    };
    assert_eq!(ids(held), vec![d.clone(), c.clone(), a.clone()]);
    let rejected = ListFilter {
        status: Some(Status::Rejected),
        ..Default::default()
    };
    assert_eq!(ids(rejected), vec![b.clone()]);
    let rule = |r: &str| ListFilter {
        rule: Some(r.into()),
        ..Default::default()
    };
    assert_eq!(ids(rule("personal-data")), vec![c.clone(), a.clone()]);
    assert_eq!(ids(rule(" Personal-Data")), vec![c.clone(), a.clone()]);
    assert_eq!(ids(rule("disclaimer")), vec![b.clone()]);
    assert!(ids(rule("data")).is_empty(), "a rule id matches whole, not in part");
    assert!(ids(rule("%")).is_empty());
    let sender = ListFilter {
        sender: Some("ALICE@school.example".into()),
        ..Default::default()
    };
    assert_eq!(ids(sender), vec![c.clone(), a.clone()]);
    let since = ListFilter {
        since: Some(T0 + 20),
        ..Default::default()
    };
    assert_eq!(ids(since), vec![d.clone(), c.clone()]);
    let page = |offset| ListFilter {
        limit: Some(3),
        offset,
        ..Default::default()
    };
    assert_eq!(ids(page(0)), vec![d.clone(), c.clone(), b.clone()]);
    assert_eq!(ids(page(3)), vec![a.clone()]);
    assert!(ids(page(4)).is_empty());
    let both = ListFilter {
        status: Some(Status::Held),
        rule: Some("personal-data".into()),
        sender: Some("alice@school.example".into()),
        since: Some(T0 + 1),
        limit: Some(10),
        offset: 0,
    };
    assert_eq!(ids(both), vec![c]);

    let listed = store.list(&ListFilter::default()).expect("list");
    let rejected = listed.iter().find(|s| s.id == b).expect("b");
    assert_eq!(rejected.decided_by.as_deref(), Some("dpo"));
    assert_eq!(rejected.decided_at, Some(T0 + 40));
    assert_eq!(rejected.note.as_deref(), Some("no"));
}

pub(crate) fn two_processes_claiming_at_once_get_one_release(h: &dyn Harness) {
    let one = h.handle();
    let two = h.reopen();
    for round in 0..20 {
        let id = one.hold(new_hold("a@school.example", &[]), T0 + round).expect("held");
        let barrier = Arc::new(Barrier::new(2));
        let racers: Vec<_> = [(one.clone(), "dpo"), (two.clone(), "deputy")]
            .into_iter()
            .map(|(store, actor)| {
                let barrier = barrier.clone();
                let id = id.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    (actor, store.claim_release(&id, actor, Some("checked"), T0 + round))
                })
            })
            .collect();
        let results: Vec<_> = racers.into_iter().map(|h| h.join().expect("no panic")).collect();
        let winners: Vec<_> = results.iter().filter(|(_, r)| r.is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0].0;
        let loser = results.iter().find(|(_, r)| r.is_err()).expect("a loser");
        match &loser.1 {
            Err(StoreError::ReleaseInProgress { id: lost, by, since }) => {
                assert_eq!((lost, by.as_str(), *since), (&id, winner, T0 + round));
            }
            other => panic!("round {round}: the loser got {other:?}"),
        }
        assert_eq!(status_of(&*two, &id), Status::Releasing);
    }
    assert_eq!(one.verify_audit().expect("verify"), AuditCheck::Ok { entries: 40 });
}

pub(crate) fn a_release_is_claimed_delivered_and_never_repeated(h: &dyn Harness) {
    let store = h.store();
    let mut new = new_hold("a@school.example", &[RuleId::PersonalData]);
    new.message = b"Subject: x\r\n\r\n\xe9t\xe9\r\n".to_vec();
    let id = store.hold(new, T0).expect("held");

    let claim = store
        .claim_release(&id, "dpo", Some("parent asked"), T0 + 60)
        .expect("claimed");
    assert_eq!(claim.hold_id, id);
    assert_eq!(claim.message, b"Subject: x\r\n\r\n\xe9t\xe9\r\n");
    assert_eq!(claim.sender, "a@school.example");
    assert_eq!(claim.recipients.len(), 2);
    assert!(!format!("{claim:?}").contains(&claim.token));

    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Releasing);
    assert_eq!(s.release_claimed_by.as_deref(), Some("dpo"));
    assert_eq!(s.release_claimed_at, Some(T0 + 60));
    assert_eq!(s.note.as_deref(), Some("parent asked"));

    // Everyone else is told, and nothing is purged from under the release.
    let busy = store
        .claim_release(&id, "deputy", None, T0 + 61)
        .expect_err("in progress");
    assert_eq!(
        busy.to_string(),
        format!(
            "{id} is being released by dpo since 2026-11-23 10:02 UTC; if that release never finished, \
             check the relay's log and run `schoolgate held resolve`"
        )
    );
    assert!(matches!(
        store.reject(&id, "deputy", None, T0 + 61),
        Err(StoreError::ReleaseInProgress { .. })
    ));
    assert_eq!(store.purge(T0 + 100 * DAY, "retention", T0 + 62).expect("purge"), 0);

    let reply = "250 2.0.0 Ok: queued as 4XyZ".to_string();
    store
        .finish_release(&claim, ReleaseOutcome::Delivered { reply: reply.clone() }, T0 + 63)
        .expect("finished");
    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Released);
    assert_eq!(s.release_reply, Some(reply));
    assert_eq!((s.decided_by.as_deref(), s.decided_at), (Some("dpo"), Some(T0 + 63)));
    assert_eq!((s.release_claimed_by, s.release_claimed_at), (None, None));

    assert_eq!(
        store.claim_release(&id, "deputy", None, T0 + 70),
        Err(StoreError::AlreadyReleased {
            id: id.clone(),
            by: "dpo".into(),
            at: T0 + 63
        })
    );
    assert!(matches!(
        store.reject(&id, "deputy", None, T0 + 70),
        Err(StoreError::AlreadyReleased { .. })
    ));
    // Finishing twice is refused: the claim was spent.
    assert_eq!(
        store.finish_release(
            &claim,
            ReleaseOutcome::Delivered {
                reply: "250 again".into()
            },
            T0 + 71
        ),
        Err(StoreError::NotYours { id: id.clone() })
    );
    assert_eq!(
        actions_for(store, &id),
        ["hold", "release-claim", "release", "release-late"]
    );
}

pub(crate) fn a_refused_release_goes_back_to_held_with_the_error(h: &dyn Harness) {
    let store = h.store();
    let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
    let claim = store.claim_release(&id, "dpo", None, T0 + 1).expect("claimed");
    let error = "451 4.3.0 relay temporarily unavailable".to_string();
    store
        .finish_release(&claim, ReleaseOutcome::Refused { error: error.clone() }, T0 + 2)
        .expect("finished");
    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Held);
    assert_eq!(s.release_error, Some(error));
    assert_eq!((s.decided_at, s.release_reply), (None, None));
    assert_eq!(actions_for(store, &id), ["hold", "release-claim", "release-refused"]);

    // It can be tried again; a fresh claim clears the old error.
    let again = store.claim_release(&id, "dpo", None, T0 + 3).expect("claimed again");
    assert_ne!(again.token, claim.token);
    assert_eq!(store.get(&id).expect("get").expect("found").summary.release_error, None);
    assert_eq!(
        store.finish_release(&claim, ReleaseOutcome::Delivered { reply: "250".into() }, T0 + 4),
        Err(StoreError::NotYours { id: id.clone() }),
        "the old claim cannot finish the new release"
    );
    assert_eq!(status_of(store, &id), Status::Releasing);
    store
        .finish_release(&again, ReleaseOutcome::Delivered { reply: "250 ok".into() }, T0 + 5)
        .expect("finished");
    assert_eq!(status_of(store, &id), Status::Released);
}

pub(crate) fn an_unknown_release_outcome_is_resolved_by_an_operator(h: &dyn Harness) {
    let store = h.store();
    let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
    assert_eq!(
        store.resolve_unknown_release(&id, "admin", true, None, T0),
        Err(StoreError::NotReleasing { id: id.clone() })
    );
    // The releasing process dies: the row stays `releasing`.
    let releaser = h.reopen();
    let dead = releaser.claim_release(&id, "dpo", None, T0 + 1).expect("claimed");
    drop(releaser);
    assert_eq!(status_of(store, &id), Status::Releasing);

    store
        .resolve_unknown_release(&id, "admin", false, Some("not in the mail log"), T0 + 3600)
        .expect("resolved");
    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Held);
    assert!(
        s.release_error.as_deref().is_some_and(|e| e.contains("never finished")),
        "{s:?}"
    );
    assert_eq!(s.note.as_deref(), Some("not in the mail log"));

    // The dead process comes back after all: too late, but logged.
    assert_eq!(
        store.finish_release(&dead, ReleaseOutcome::Delivered { reply: "250".into() }, T0 + 3601),
        Err(StoreError::NotYours { id: id.clone() })
    );
    assert_eq!(status_of(store, &id), Status::Held);

    store.claim_release(&id, "dpo", None, T0 + 4000).expect("claimed");
    store
        .resolve_unknown_release(&id, "admin", true, Some("queued as 9ABC in the log"), T0 + 5000)
        .expect("resolved");
    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Released);
    assert_eq!(
        (s.decided_by.as_deref(), s.decided_at),
        (Some("admin"), Some(T0 + 5000))
    );
    assert_eq!(
        actions_for(store, &id),
        [
            "hold",
            "release-claim",
            "release-not-delivered",
            "release-late",
            "release-claim",
            "release"
        ]
    );
    assert!(matches!(
        store.resolve_unknown_release(&id, "admin", false, None, T0 + 5001),
        Err(StoreError::AlreadyReleased { .. })
    ));
    assert!(matches!(
        store.resolve_unknown_release("SG-00000000", "admin", false, None, T0),
        Err(StoreError::NotFound { .. })
    ));
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 6 });
}

pub(crate) fn reject_and_the_errors_of_deciding_twice(h: &dyn Harness) {
    let store = h.store();
    let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
    store
        .reject(&id, "dpo", Some("send it encrypted"), T0 + 5)
        .expect("rejected");
    let s = store.get(&id).expect("get").expect("found").summary;
    assert_eq!(s.status, Status::Rejected);
    assert_eq!(s.note.as_deref(), Some("send it encrypted"));
    let twice = store.reject(&id, "deputy", None, T0 + 6).expect_err("rejected already");
    assert_eq!(
        twice,
        StoreError::AlreadyRejected {
            id: id.clone(),
            by: "dpo".into(),
            at: T0 + 5
        }
    );
    assert_eq!(
        twice.to_string(),
        format!("{id} was already rejected by dpo at 2026-11-23 10:01 UTC")
    );
    assert!(matches!(
        store.claim_release(&id, "dpo", None, T0 + 7),
        Err(StoreError::AlreadyRejected { .. })
    ));
    for result in [
        store.reject("SG-DEADBEEF", "dpo", None, T0).map(|_| ()),
        store.claim_release("SG-DEADBEEF", "dpo", None, T0).map(|_| ()),
        store.record_view("SG-DEADBEEF", "dpo", T0),
    ] {
        assert_eq!(
            result,
            Err(StoreError::NotFound {
                id: "SG-DEADBEEF".into()
            })
        );
    }
    store
        .record_view(&id.to_lowercase(), "auditor", T0 + 8)
        .expect("viewed");
    assert_eq!(actions_for(store, &id), ["hold", "reject", "view"]);
    let view = store.audit_for(&id).expect("log").pop().expect("the view");
    assert_eq!((view.actor.as_str(), view.at), ("auditor", T0 + 8));
}

pub(crate) fn purge_removes_bodies_and_keeps_metadata_and_audit(h: &dyn Harness) {
    let store = h.store();
    let marker = b"PURGE-ME-A801234567345";
    let hold = |sender: &str, at| {
        let mut new = new_hold(sender, &[RuleId::PersonalData]);
        new.message.extend_from_slice(marker);
        store.hold(new, at).expect("held")
    };
    let old_released = hold("a@school.example", T0);
    let old_held = hold("b@school.example", T0 + 1);
    let old_releasing = hold("c@school.example", T0 + 2);
    let old_rejected = hold("d@school.example", T0 + 3);
    let recent = hold("e@school.example", T0 + 40 * DAY);
    let claim = store.claim_release(&old_released, "dpo", None, T0 + 10).expect("claim");
    store
        .finish_release(&claim, ReleaseOutcome::Delivered { reply: "250 ok".into() }, T0 + 11)
        .expect("released");
    let releasing = store
        .claim_release(&old_releasing, "dpo", None, T0 + 12)
        .expect("claim");
    store.reject(&old_rejected, "dpo", None, T0 + 13).expect("rejected");

    let now = T0 + 41 * DAY;
    let purged = store.purge(now - 30 * DAY, "retention", now).expect("purged");
    assert_eq!(purged, 3);
    for (id, status) in [
        (&old_released, Status::Released),
        (&old_held, Status::Held),
        (&old_rejected, Status::Rejected),
    ] {
        let held = store.get(id).expect("get").expect("kept");
        assert_eq!(held.message, None);
        assert_eq!(held.summary.purged_at, Some(now));
        assert_eq!(held.summary.status, status);
        assert_eq!(held.summary.rules, vec!["personal-data"]);
        assert!(held.verdict_json.contains("personal-data"));
        assert_eq!(actions_for(store, id).last().map(String::as_str), Some("purge"));
    }
    for id in [&old_releasing, &recent] {
        let held = store.get(id).expect("get").expect("kept");
        assert!(held.message.is_some());
        assert_eq!(held.summary.purged_at, None);
    }
    assert_eq!(store.purge(now - 30 * DAY, "retention", now + 1).expect("again"), 0);

    // A purged held message cannot be released, but can be rejected.
    assert_eq!(
        store.claim_release(&old_held, "dpo", None, now + 2),
        Err(StoreError::Purged { id: old_held.clone() })
    );
    store
        .reject(&old_held, "dpo", Some("too late"), now + 3)
        .expect("rejected");
    // The release in progress finishes normally, and is purged later.
    store
        .finish_release(
            &releasing,
            ReleaseOutcome::Delivered { reply: "250 ok".into() },
            now + 4,
        )
        .expect("released");
    assert_eq!(store.purge(now - 30 * DAY, "retention", now + 5).expect("purged"), 1);
    assert!(matches!(store.verify_audit().expect("verify"), AuditCheck::Ok { .. }));
}

pub(crate) fn notices_fall_due_are_leased_retried_and_sent(h: &dyn Harness) {
    let store = h.store();
    let notice = |kind: &str, to: &str| NewNotice {
        hold_id: String::new(),
        kind: kind.into(),
        to: to.into(),
        subject: "Your message was held (SG-…)".into(),
        body: "It carried 1 Unique Pupil Number.".into(),
    };
    let id = store
        .hold_with_notices(
            new_hold("a@school.example", &[RuleId::PersonalData]),
            vec![notice("hold", "a@school.example"), notice("dpo", "dpo@school.example")],
            T0,
        )
        .expect("held");
    assert!(store.due_notices(T0 - 1, 10).expect("due").is_empty());
    let due = store.due_notices(T0, 10).expect("due");
    assert_eq!(due.len(), 2);
    assert!(
        due.iter()
            .all(|n| n.hold_id == id && n.attempts == 0 && n.sent_at.is_none())
    );
    assert_eq!(due.iter().map(|n| n.kind.as_str()).collect::<Vec<_>>(), ["hold", "dpo"]);
    let (to_sender, to_dpo) = (due[0].id, due[1].id);
    // Leased: a second sender does not pick them up meanwhile.
    assert!(store.due_notices(T0 + 1, 10).expect("due").is_empty());

    store
        .notice_failed(to_sender, "connection refused", T0 + 60)
        .expect("failed");
    assert!(store.due_notices(T0 + 59, 10).expect("due").is_empty());
    let retry = store.due_notices(T0 + 60, 10).expect("due");
    assert_eq!(retry.len(), 1);
    assert_eq!(retry[0].id, to_sender);
    assert_eq!(retry[0].attempts, 1);
    assert_eq!(retry[0].last_error.as_deref(), Some("connection refused"));
    store.notice_sent(to_sender, T0 + 61).expect("sent");
    store.notice_sent(to_sender, T0 + 62).expect("sent twice is fine");

    // The DPO's notice was leased by a sender that died: due again after the lease.
    let again = store.due_notices(T0 + NOTICE_LEASE_SECONDS, 10).expect("due");
    assert_eq!(again.iter().map(|n| n.id).collect::<Vec<_>>(), [to_dpo]);
    store.notice_sent(to_dpo, T0 + NOTICE_LEASE_SECONDS).expect("sent");
    assert!(store.due_notices(T0 + 365 * DAY, 10).expect("due").is_empty());

    // Owed later, with a limit.
    for _ in 0..3 {
        store
            .owe_notice(
                NewNotice {
                    hold_id: id.to_lowercase(),
                    ..notice("reject", "a@school.example")
                },
                T0 + 100,
            )
            .expect("owed");
    }
    assert_eq!(store.due_notices(T0 + 100, 2).expect("due").len(), 2);
    assert_eq!(store.due_notices(T0 + 100, 2).expect("due").len(), 1);

    assert!(matches!(
        store.owe_notice(
            NewNotice {
                hold_id: "SG-00000000".into(),
                ..notice("hold", "x@y")
            },
            T0
        ),
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.owe_notice(
            NewNotice {
                hold_id: id.clone(),
                ..notice("shout", "x@y")
            },
            T0
        ),
        Err(StoreError::Database(_))
    ));
    assert!(matches!(store.notice_sent(9999, T0), Err(StoreError::NotFound { .. })));
    assert!(matches!(
        store.notice_failed(9999, "x", T0),
        Err(StoreError::NotFound { .. })
    ));
}

pub(crate) fn a_hold_and_its_notices_are_written_together_or_not_at_all(h: &dyn Harness) {
    let store = h.store();
    let bad = NewNotice {
        hold_id: String::new(),
        kind: "nonsense".into(),
        to: "a@school.example".into(),
        subject: "s".into(),
        body: "b".into(),
    };
    assert!(
        store
            .hold_with_notices(new_hold("a@school.example", &[]), vec![bad], T0)
            .is_err()
    );
    assert!(store.list(&ListFilter::default()).expect("list").is_empty());
    assert!(store.audit_log(None).expect("log").is_empty());
}

pub(crate) fn the_audit_log_chains_its_entries(h: &dyn Harness) {
    let store = h.store();
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 0 });
    let id = store.hold(new_hold("a@school.example", &[]), T0).expect("held");
    store.record_view(&id, "dpo", T0 + 1).expect("viewed");
    store
        .audit("admin", "config-reload", None, "rules reloaded", T0 + 2)
        .expect("audited");
    let log = store.audit_log(None).expect("log");
    assert_eq!(log.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(log[0].prev_hash, audit::GENESIS_HASH);
    assert_eq!(log[1].prev_hash, log[0].hash);
    assert_eq!(log[2].prev_hash, log[1].hash);
    assert!(log.iter().all(|r| r.hash == r.expected_hash()));
    assert_eq!(
        (log[2].actor.as_str(), log[2].action.as_str(), log[2].hold_id.as_deref()),
        ("admin", "config-reload", None)
    );
    assert_eq!(store.audit_log(Some(T0 + 1)).expect("log").len(), 2);
    assert_eq!(store.audit_for(&id).expect("log").len(), 2);
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 3 });
    // Another process appends to the same chain.
    h.reopen().record_view(&id, "auditor", T0 + 3).expect("viewed");
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 4 });
    let json = serde_json::to_string(&log[0]).expect("json");
    assert!(json.contains("\"prev_hash\""), "{json}");
}

pub(crate) fn a_hold_under_a_chosen_id_is_refused_if_the_id_is_taken(h: &dyn Harness) {
    let store = h.store();
    let id = new_id();
    let notice = |body: String| NewNotice {
        hold_id: "ignored".into(),
        kind: "hold".into(),
        to: "a@school.example".into(),
        subject: format!("Your message was held ({id})"),
        body,
    };
    let held = store
        .hold_with_id(
            &id.to_lowercase(),
            new_hold("a@school.example", &[RuleId::PersonalData]),
            vec![notice(format!("Reference {id}."))],
            T0,
        )
        .expect("held");
    assert_eq!(held, id);
    let due = store.due_notices(T0, 10).expect("due");
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].hold_id, id);
    assert_eq!(due[0].subject, format!("Your message was held ({id})"));

    let taken = store
        .hold_with_id(
            &id,
            new_hold("b@school.example", &[]),
            vec![notice("again".into())],
            T0 + 1,
        )
        .expect_err("taken");
    assert_eq!(taken, StoreError::IdTaken { id: id.clone() });
    assert_eq!(
        store.get(&id).expect("get").expect("kept").summary.sender,
        "a@school.example"
    );
    assert_eq!(store.audit_log(None).expect("log").len(), 1, "nothing was written");
    assert!(store.due_notices(T0 + NOTICE_LEASE_SECONDS, 10).expect("due").len() == 1);

    assert!(matches!(
        store.hold_with_id("SG-NOPE", new_hold("b@school.example", &[]), vec![], T0 + 2),
        Err(StoreError::Database(_))
    ));
}

/// A password and its hash, made once per run (hashing costs ~50 ms).
fn password(n: usize) -> (&'static str, &'static str) {
    use std::sync::OnceLock;
    const PASSWORDS: [&str; 3] = [
        "correct horse battery staple",
        "Tr0ub4dor&3-but-longer",
        "the third one, for changes",
    ];
    static HASHES: OnceLock<Vec<String>> = OnceLock::new();
    let hashes = HASHES.get_or_init(|| {
        PASSWORDS
            .iter()
            .map(|p| accounts::hash_password(p).expect("hashed"))
            .collect()
    });
    (PASSWORDS[n], hashes[n].as_str())
}

fn account(name: &str, role: Role, domains: &[&str]) -> Account {
    Account {
        name: name.into(),
        role,
        domains: domains.iter().map(|d| d.to_string()).collect(),
        disabled: false,
        created_at: 0,
    }
}

fn audit_actions(store: &dyn Store) -> Vec<(String, String)> {
    store
        .audit_log(None)
        .expect("the audit log")
        .into_iter()
        .map(|r| (r.actor, r.action))
        .collect()
}

/// A token's hash, as the review UI stores it.
fn token(n: u32) -> String {
    accounts::token_hash(&format!("browser token {n}"))
}

pub(crate) fn accounts_are_added_found_and_listed(h: &dyn Harness) {
    let store = h.store();
    assert!(store.accounts().expect("accounts").is_empty());
    assert_eq!(store.account("dpo").expect("lookup"), None);

    let (_, hash) = password(0);
    store
        .add_account(&account("dpo", Role::Dpo, &[]), hash, "cli:root", T0)
        .expect("added");
    store
        .add_account(
            &account(
                "j.smith@trust.example",
                Role::Reviewer,
                &["@Oakfield.SCH.uk.", "elm.sch.uk", "oakfield.sch.uk"],
            ),
            hash,
            "dpo",
            T0 + 1,
        )
        .expect("added");
    let mut auditor = account("auditor", Role::Auditor, &[]);
    auditor.created_at = 12345;
    store.add_account(&auditor, hash, "cli:root", T0 + 2).expect("added");

    let (found, found_hash) = store
        .account(" J.Smith@Trust.Example ")
        .expect("lookup")
        .expect("found, case and space ignored");
    assert_eq!(found_hash, hash);
    assert_eq!(
        found,
        Account {
            name: "j.smith@trust.example".into(),
            role: Role::Reviewer,
            domains: vec!["oakfield.sch.uk".into(), "elm.sch.uk".into()],
            disabled: false,
            created_at: T0 + 1,
        }
    );
    assert!(found.may_see("head@oakfield.sch.uk") && !found.may_see("head@ash.sch.uk"));

    let listed = store.accounts().expect("accounts");
    assert_eq!(
        listed.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(),
        ["auditor", "dpo", "j.smith@trust.example"]
    );
    assert_eq!(listed[0].created_at, T0 + 2, "created now, whatever the caller said");
    assert_eq!(listed[0].role, Role::Auditor);
    assert_eq!(listed[1].domains, Vec::<String>::new());

    let twice = store
        .add_account(&account("dpo", Role::Reviewer, &[]), hash, "cli:root", T0 + 3)
        .expect_err("the name is taken");
    assert_eq!(twice, StoreError::AccountExists { name: "dpo".into() });
    assert_eq!(twice.to_string(), "there is already an account named dpo");
    assert_eq!(
        store.account("dpo").expect("lookup").expect("kept").0.role,
        Role::Dpo,
        "the first account is untouched"
    );

    // Another process sees the same accounts.
    assert_eq!(h.reopen().accounts().expect("accounts"), listed);
    assert_eq!(
        audit_actions(store),
        [
            ("cli:root".to_string(), "account-add".to_string()),
            ("dpo".to_string(), "account-add".to_string()),
            ("cli:root".to_string(), "account-add".to_string()),
        ]
    );
    let log = store.audit_log(None).expect("log");
    assert_eq!(log[0].hold_id, None);
    assert!(
        log[0].detail.contains("dpo") && log[0].detail.contains("every sender"),
        "{}",
        log[0].detail
    );
    assert!(
        log[1].detail.contains("oakfield.sch.uk, elm.sch.uk"),
        "{}",
        log[1].detail
    );
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 3 });
}

pub(crate) fn an_account_is_refused_when_its_name_domains_or_hash_are_wrong(h: &dyn Harness) {
    let store = h.store();
    let (plain, hash) = password(0);
    let refusals = [
        (account("DPO", Role::Dpo, &[]), hash, "is not an account name"),
        (account("", Role::Dpo, &[]), hash, "is not an account name"),
        (account("j smith", Role::Dpo, &[]), hash, "is not an account name"),
        (account(&"a".repeat(65), Role::Dpo, &[]), hash, "is not an account name"),
        (
            account("reviewer", Role::Reviewer, &["not a domain"]),
            hash,
            "is not a domain name",
        ),
        (account("reviewer", Role::Reviewer, &[]), plain, "Argon2id hash"),
        (account("reviewer", Role::Reviewer, &[]), "", "Argon2id hash"),
        (
            account("reviewer", Role::Reviewer, &[]),
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA",
            "Argon2id hash",
        ),
    ];
    for (account, hash, why) in refusals {
        match store.add_account(&account, hash, "cli", T0) {
            Err(StoreError::Invalid(message)) => {
                assert!(message.contains(why), "{:?}: {message}", account.name);
                assert!(!message.contains(plain), "the refusal repeats the password");
            }
            other => panic!("{:?} was not refused: {other:?}", account.name),
        }
    }
    assert!(store.accounts().expect("accounts").is_empty());
    assert!(store.audit_log(None).expect("log").is_empty(), "nothing was written");

    assert_eq!(
        store.set_password("nobody", hash, "cli", T0),
        Err(StoreError::AccountNotFound { name: "nobody".into() })
    );
    assert_eq!(
        store.disable_account("Nobody", "cli", T0),
        Err(StoreError::AccountNotFound { name: "nobody".into() })
    );
    assert_eq!(
        StoreError::AccountNotFound { name: "nobody".into() }.to_string(),
        "there is no account named nobody"
    );
    store
        .add_account(&account("dpo", Role::Dpo, &[]), hash, "cli", T0)
        .expect("added");
    assert!(matches!(
        store.set_password("dpo", plain, "cli", T0 + 1),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.account("dpo").expect("lookup").expect("found").1, hash);
}

pub(crate) fn a_password_change_and_a_disabling_end_the_sessions(h: &dyn Harness) {
    let store = h.store();
    let (_, first) = password(0);
    let (new_plain, second) = password(1);
    for name in ["dpo", "deputy"] {
        store
            .add_account(&account(name, Role::Dpo, &[]), first, "cli:root", T0)
            .expect("added");
    }
    for (n, name) in [(1, "dpo"), (2, "dpo"), (3, "deputy")] {
        store
            .create_session(&token(n), name, "csrf", T0 + DAY, T0 + 1)
            .expect("signed in");
    }

    store.set_password("DPO", second, "dpo", T0 + 2).expect("changed");
    let (dpo, hash) = store.account("dpo").expect("lookup").expect("found");
    assert_eq!(hash, second);
    assert!(accounts::verify_password(&hash, new_plain));
    assert!(!dpo.disabled);
    assert_eq!(store.session(&token(1), T0 + 3).expect("lookup"), None, "signed out");
    assert_eq!(store.session(&token(2), T0 + 3).expect("lookup"), None, "signed out");
    assert!(
        store.session(&token(3), T0 + 3).expect("lookup").is_some(),
        "other accounts stay signed in"
    );
    // Signing in again with the new password works.
    store
        .create_session(&token(4), "dpo", "csrf", T0 + DAY, T0 + 4)
        .expect("signed in");

    store.disable_account("deputy", "dpo", T0 + 5).expect("disabled");
    let (deputy, _) = store.account("deputy").expect("lookup").expect("kept");
    assert!(deputy.disabled);
    assert_eq!(store.session(&token(3), T0 + 6).expect("lookup"), None);
    assert!(store.session(&token(4), T0 + 6).expect("lookup").is_some());
    store
        .disable_account("deputy", "dpo", T0 + 7)
        .expect("disabling again is no error");
    assert!(
        store
            .accounts()
            .expect("accounts")
            .iter()
            .any(|a| a.name == "deputy" && a.disabled),
        "a disabled account is still listed"
    );
    assert!(matches!(
        store.add_account(&account("deputy", Role::Dpo, &[]), first, "cli:root", T0 + 8),
        Err(StoreError::AccountExists { .. })
    ));
    // A password can still be set (it stays disabled).
    store
        .set_password("deputy", second, "cli:root", T0 + 9)
        .expect("changed");
    assert!(store.account("deputy").expect("lookup").expect("kept").0.disabled);

    let actions: Vec<String> = audit_actions(store).into_iter().map(|(_, action)| action).collect();
    assert_eq!(
        actions,
        [
            "account-add",
            "account-add",
            "login",
            "login",
            "login",
            "account-passwd",
            "login",
            "account-disable",
            "account-passwd",
        ]
    );
    let log = store.audit_log(None).expect("log");
    let passwd = &log[5];
    assert_eq!((passwd.actor.as_str(), passwd.at), ("dpo", T0 + 2));
    assert!(
        passwd.detail.contains("password of dpo changed; 2 session(s) ended"),
        "{}",
        passwd.detail
    );
    let disable = &log[7];
    assert_eq!(disable.actor, "dpo");
    assert!(
        disable.detail.contains("account deputy disabled; 1 session(s) ended"),
        "{}",
        disable.detail
    );
    assert_eq!(store.verify_audit().expect("verify"), AuditCheck::Ok { entries: 9 });
}

pub(crate) fn sessions_last_until_they_expire_and_are_shared(h: &dyn Harness) {
    let store = h.store();
    let (_, hash) = password(0);
    store
        .add_account(
            &account("reviewer", Role::Reviewer, &["oakfield.sch.uk"]),
            hash,
            "cli",
            T0,
        )
        .expect("added");
    store
        .add_account(&account("auditor", Role::Auditor, &[]), hash, "cli", T0)
        .expect("added");
    let expires = T0 + 8 * 3600;
    store
        .create_session(&token(1), "Reviewer", "csrf-one", expires, T0 + 10)
        .expect("signed in");

    let session = store.session(&token(1), T0 + 11).expect("lookup").expect("signed in");
    assert_eq!(session.account.name, "reviewer");
    assert_eq!(session.account.role, Role::Reviewer);
    assert_eq!(session.account.domains, ["oakfield.sch.uk"]);
    assert_eq!(session.csrf, "csrf-one");
    assert_eq!(session.expires_at, expires);
    assert!(
        !format!("{session:?}").contains("csrf-one"),
        "Debug hides the CSRF token"
    );

    // Another review server behind the same proxy sees the same session.
    let other = h.reopen();
    assert_eq!(
        other.session(&token(1), T0 + 12).expect("lookup"),
        Some(session.clone())
    );

    assert_eq!(store.session(&token(1), expires - 1).expect("lookup"), Some(session));
    assert_eq!(store.session(&token(1), expires).expect("lookup"), None, "expired");
    assert_eq!(store.session(&token(99), T0 + 11).expect("lookup"), None);
    assert_eq!(
        store
            .session(&accounts::token_hash("browser token 1").to_uppercase(), T0 + 11)
            .expect("lookup"),
        None,
        "hashes are compared exactly"
    );

    for (n, name, until) in [
        (2, "auditor", T0 + 100),
        (3, "auditor", T0 + 200),
        (4, "reviewer", T0 + 300),
    ] {
        store
            .create_session(&token(n), name, "csrf", until, T0 + 20)
            .expect("signed in");
    }
    // Signing out on one server signs out on all.
    other.delete_session(&token(2)).expect("signed out");
    other.delete_session(&token(2)).expect("twice is no error");
    assert_eq!(store.session(&token(2), T0 + 21).expect("lookup"), None);
    assert!(store.session(&token(3), T0 + 21).expect("lookup").is_some());

    assert_eq!(
        store.purge_sessions(T0 + 200).expect("purged"),
        1,
        "token 3 ended at T0 + 200"
    );
    assert_eq!(store.purge_sessions(T0 + 200).expect("purged"), 0);
    assert!(store.session(&token(1), T0 + 201).expect("lookup").is_some());
    assert!(store.session(&token(4), T0 + 201).expect("lookup").is_some());
    assert_eq!(store.delete_sessions_of(" REVIEWER").expect("ended"), 2);
    assert_eq!(store.delete_sessions_of("reviewer").expect("ended"), 0);
    assert_eq!(store.delete_sessions_of("nobody").expect("ended"), 0);
    assert_eq!(store.session(&token(1), T0 + 202).expect("lookup"), None);

    let logins: Vec<_> = store
        .audit_log(None)
        .expect("log")
        .into_iter()
        .filter(|r| r.action == "login")
        .collect();
    assert_eq!(logins.len(), 4);
    assert_eq!((logins[0].actor.as_str(), logins[0].at), ("reviewer", T0 + 10));
    assert!(
        logins[0].detail.contains("2026-11-23 18:01 UTC"),
        "{}",
        logins[0].detail
    );
}

pub(crate) fn sessions_are_refused_for_raw_tokens_and_missing_or_disabled_accounts(h: &dyn Harness) {
    let store = h.store();
    let (_, hash) = password(0);
    store
        .add_account(&account("dpo", Role::Dpo, &[]), hash, "cli", T0)
        .expect("added");
    let raw = accounts::new_token().expect("a token");
    for (token_hash, csrf, expires, why) in [
        (raw.as_str(), "csrf", T0 + 60, "never under the token itself"),
        ("", "csrf", T0 + 60, "never under the token itself"),
        (&token(1), "", T0 + 60, "CSRF"),
        (&token(1), "csrf", T0, "expire after it starts"),
    ] {
        match store.create_session(token_hash, "dpo", csrf, expires, T0) {
            Err(StoreError::Invalid(message)) => assert!(message.contains(why), "{message}"),
            other => panic!("{why}: not refused: {other:?}"),
        }
    }
    assert_eq!(
        store.create_session(&token(1), "nobody", "csrf", T0 + 60, T0),
        Err(StoreError::AccountNotFound { name: "nobody".into() })
    );
    store
        .create_session(&token(1), "dpo", "csrf", T0 + 60, T0)
        .expect("signed in");
    assert!(matches!(
        store.create_session(&token(1), "dpo", "other", T0 + 60, T0),
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(
        store.session(&token(1), T0).expect("lookup").expect("kept").csrf,
        "csrf"
    );

    store.disable_account("dpo", "cli", T0 + 1).expect("disabled");
    let refused = store
        .create_session(&token(2), "dpo", "csrf", T0 + 60, T0 + 2)
        .expect_err("disabled");
    assert_eq!(refused, StoreError::AccountDisabled { name: "dpo".into() });
    assert_eq!(refused.to_string(), "the account dpo is disabled");
    assert_eq!(store.session(&token(2), T0 + 3).expect("lookup"), None);
    let actions: Vec<String> = audit_actions(store).into_iter().map(|(_, action)| action).collect();
    assert_eq!(actions, ["account-add", "login", "account-disable"]);
}

pub(crate) fn no_password_or_hash_reaches_the_audit_log(h: &dyn Harness) {
    let store = h.store();
    let (first_plain, first) = password(0);
    let (second_plain, second) = password(1);
    store
        .add_account(&account("dpo", Role::Dpo, &[]), first, "cli:root", T0)
        .expect("added");
    store.set_password("dpo", second, "dpo", T0 + 1).expect("changed");
    let raw = "the browser's own token";
    store
        .create_session(&accounts::token_hash(raw), "dpo", "csrf-secret", T0 + 60, T0 + 2)
        .expect("signed in");
    store.disable_account("dpo", "cli:root", T0 + 3).expect("disabled");

    let log = store.audit_log(None).expect("log");
    assert_eq!(log.len(), 4);
    let secrets = [
        first_plain,
        first,
        second_plain,
        second,
        raw,
        &accounts::token_hash(raw),
        "csrf-secret",
        // Any PHC string, or its salt or digest.
        "$argon2",
        first.rsplit('$').next().expect("the digest"),
        second.rsplit('$').nth(1).expect("the salt"),
    ];
    for record in &log {
        let json = serde_json::to_string(record).expect("json");
        for secret in secrets {
            assert!(!json.contains(secret), "{} holds {secret}", record.action);
        }
    }
    // Nor does an account's Debug or JSON.
    let (dpo, _) = store.account("dpo").expect("lookup").expect("found");
    let shown = format!("{dpo:?} {}", serde_json::to_string(&dpo).expect("json"));
    assert!(!shown.contains("$argon2"), "{shown}");
}
