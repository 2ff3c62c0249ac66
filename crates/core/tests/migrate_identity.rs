//! Identity resolution on the hand-made legacy export `tests/legacy/small`: every customer and
//! card in exactly one group. The expected placements were worked out by hand from the files.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{collecting, legacy_small as small};
use puntos::migrate::export::Reject;
use puntos::migrate::identity::{plan, Group, IdentityPlan, Party, PhonePolicy, PlanSettings};
use puntos::phone::region;
use std::path::Path;

fn run(folder: &Path, phone_policy: PhonePolicy) -> (IdentityPlan, Vec<Reject>) {
    let settings = PlanSettings {
        region: region("RU").unwrap(),
        phone_policy,
    };
    collecting(|rejects| plan(folder, &settings, rejects))
}

/// (legacy id, group, account, action) of each row of one party.
fn placements(plan: &IdentityPlan, party: Party) -> Vec<(String, Group, String, String)> {
    plan.rows
        .iter()
        .filter(|r| r.party == party)
        .map(|r| {
            (
                r.legacy_id.to_string(),
                r.group,
                r.account.to_string(),
                r.action.to_string(),
            )
        })
        .collect()
}

fn row(id: &str, group: Group, account: &str, action: &str) -> (String, Group, String, String) {
    (
        id.to_string(),
        group,
        account.to_string(),
        action.to_string(),
    )
}

#[test]
fn every_customer_lands_in_one_group_with_its_account_and_action() {
    let (plan, _) = run(&small(), PhonePolicy::EarliestRegistered);
    use Group::*;
    assert_eq!(
        placements(&plan, Party::Customer),
        vec![
            row(
                "P001",
                SeveralCards,
                "+79123456789",
                "one account, 2 cards as aliases"
            ),
            row("P002", NoPhone, "card:C003", "keyed by card:C003"),
            row("P003", InvalidPhone, "card:C004", "keyed by card:C004"),
            row("P004", NoPhone, "card:C005", "keyed by card:C005"),
            row("P005", SharedPhone, "+79161234567", "keeps the phone"),
            row(
                "P006",
                SharedPhone,
                "card:C007",
                "keyed by card:C007; flagged for verification"
            ),
            row(
                "P007",
                DuplicatePerson,
                "+79261112233",
                "master of 2 registrations"
            ),
            row(
                "P008",
                DuplicatePerson,
                "+79261112233",
                "merged into master P007"
            ),
            row("P009", InvalidPhone, "card:C010", "keyed by card:C010"),
            row("P010", InvalidPhone, "card:C011", "keyed by card:C011"),
            row("P011", Clean, "+447911123456", "keyed by phone"),
            row("P012", InvalidPhone, "card:C013", "keyed by card:C013"),
            row("P013", Clean, "+79031234567", "keyed by phone"),
        ]
    );
    let reason = |id: &str| {
        plan.rows
            .iter()
            .find(|r| &*r.legacy_id == id)
            .map(|r| r.reason.to_string())
            .unwrap()
    };
    assert_eq!(
        reason("P006"),
        "+79161234567 is shared with other people and kept by P005 (earliest-registered)"
    );
    assert_eq!(
        reason("P009"),
        "+78123456789 is not a mobile number: it cannot receive the verification SMS"
    );
    assert_eq!(reason("P012"), "`call me` is not a valid phone number");
    let p001 = plan.rows.iter().find(|r| &*r.legacy_id == "P001").unwrap();
    assert_eq!(
        (p001.sms_opt_in, p001.email_opt_in),
        (Some(true), Some(false))
    );
}

#[test]
fn every_card_follows_its_owner_or_keys_an_account_of_its_own() {
    let (plan, _) = run(&small(), PhonePolicy::EarliestRegistered);
    use Group::*;
    let alias = |a: &str| format!("alias of account {a}");
    let keys = "keys its owner's account";
    assert_eq!(
        placements(&plan, Party::Card),
        vec![
            row("C001", SeveralCards, "+79123456789", &alias("+79123456789")),
            row("C002", SeveralCards, "+79123456789", &alias("+79123456789")),
            row("C003", NoPhone, "card:C003", keys),
            row("C004", InvalidPhone, "card:C004", keys),
            row("C005", NoPhone, "card:C005", keys),
            row("C006", SharedPhone, "+79161234567", &alias("+79161234567")),
            row("C007", SharedPhone, "card:C007", keys),
            row(
                "C008",
                DuplicatePerson,
                "+79261112233",
                &alias("+79261112233")
            ),
            row(
                "C009",
                DuplicatePerson,
                "+79261112233",
                &alias("+79261112233")
            ),
            row("C010", InvalidPhone, "card:C010", keys),
            row("C011", InvalidPhone, "card:C011", keys),
            row("C012", Clean, "+447911123456", &alias("+447911123456")),
            row("C013", InvalidPhone, "card:C013", keys),
            row("C014", Clean, "+79031234567", &alias("+79031234567")),
            row(
                "C015",
                CardWithoutCustomer,
                "card:C015",
                "keys an account of its own"
            ),
            row(
                "C016",
                CardWithoutCustomer,
                "card:C016",
                "keys an account of its own"
            ),
        ]
    );
    assert_eq!(plan.accounts, 14);
    let counts: Vec<(Group, u64, u64)> = plan
        .groups
        .iter()
        .map(|(g, c)| (*g, c.customers, c.cards))
        .collect();
    assert_eq!(
        counts,
        vec![
            (Clean, 2, 2),
            (SeveralCards, 1, 2),
            (DuplicatePerson, 2, 2),
            (SharedPhone, 2, 2),
            (NoPhone, 2, 2),
            (InvalidPhone, 4, 4),
            (CardWithoutCustomer, 0, 2),
        ]
    );
}

#[test]
fn every_input_row_is_placed_merged_or_rejected_exactly_once() {
    let (plan, rejects) = run(&small(), PhonePolicy::EarliestRegistered);
    for (file, placed) in [
        (&plan.files[0], Party::Customer),
        (&plan.files[1], Party::Card),
    ] {
        let rows = plan.rows.iter().filter(|r| r.party == placed).count() as u64;
        assert_eq!(
            file.rows,
            rows + file.exact_duplicates + file.rejected,
            "{}",
            file.file
        );
    }
    let places = common::places(&rejects);
    assert_eq!(
        places,
        vec![
            ("customers.csv", 17, Some("customer_id")),
            ("customers.csv", 18, Some("birth_date")),
            ("customers.csv", 19, None),
            ("customers.csv", 20, Some("sms_opt_in")),
            ("customers.csv", 21, Some("customer_id")),
            ("cards.csv", 18, Some("status")),
            ("cards.csv", 20, Some("card_no")),
            ("cards.csv", 21, Some("issued_at")),
        ]
    );
    assert_eq!(
        rejects[0].reason,
        "P009 again, with other fields than on line 10 (that row is kept)"
    );
}

#[test]
fn the_phone_policy_decides_who_keeps_a_shared_phone() {
    let dir = std::env::temp_dir().join(format!("puntos-identity-policy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("customers.csv"),
        "customer_id,full_name,birth_date,phone,email,sms_opt_in,email_opt_in,created_at,status\n\
         A,Anna Early,1980-01-01,+79160000001,,,,2010-01-01T00:00:00+03:00,active\n\
         B,Boris Busy,1981-01-01,89160000001,,,,2015-01-01T00:00:00+03:00,active\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("cards.csv"),
        "card_no,customer_id,status,issued_at\nA1,A,active,\nB1,B,active,\nB2,B,active,\n",
    )
    .unwrap();
    let holder = |policy| {
        let (plan, _) = run(&dir, policy);
        plan.rows
            .iter()
            .find(|r| r.party == Party::Customer && &*r.account == "+79160000001")
            .map(|r| r.legacy_id.to_string())
            .unwrap()
    };
    assert_eq!(holder(PhonePolicy::EarliestRegistered), "A");
    assert_eq!(holder(PhonePolicy::MostCards), "B");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_rerun_places_everything_the_same() {
    let (first, _) = run(&small(), PhonePolicy::EarliestRegistered);
    let (second, _) = run(&small(), PhonePolicy::EarliestRegistered);
    assert_eq!(first, second);
}
