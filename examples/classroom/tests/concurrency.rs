//! Simultaneous requests: the database's constraints keep the counts exact.

mod common;

use std::sync::Arc;

use common::*;
use futures_util::future::join_all;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_simultaneous_joins_and_reports_give_exact_counts() {
    let app = Arc::new(spawn().await);
    let room = app.classroom().await;
    let code = room.session.clone();
    app.post(&format!("/v1/sessions/{code}/start"))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);

    // 100 joins from 50 devices, each device twice, all at once.
    let joins = (0..100).map(|i| {
        let (app, code, token) = (Arc::clone(&app), code.clone(), room.student.access.clone());
        tokio::spawn(async move {
            let r = app
                .post(&format!("/v1/sessions/{code}/join"))
                .token(&token)
                .json(&json!({"device_id": format!("device-{}", i % 50)}))
                .send()
                .await;
            (r.status.as_u16(), r.json())
        })
    });
    let results: Vec<(u16, serde_json::Value)> = join_all(joins)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let again = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!((created, again), (50, 50), "{results:?}");
    for (status, body) in &results {
        assert!(body["participant"]["id"].is_i64(), "{body}");
        assert_eq!(body["created"], json!(*status == 201), "{body}");
    }
    // Both requests of a device got the same participant.
    for i in 0..50 {
        let device = format!("device-{i}");
        let ids: Vec<&serde_json::Value> = results
            .iter()
            .filter(|(_, b)| b["participant"]["device_id"] == device.as_str())
            .map(|(_, b)| &b["participant"]["id"])
            .collect();
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0], ids[1]);
    }

    // 100 reports of the current step from the same 50 devices, all at once.
    let reports = (0..100).map(|i| {
        let (app, code, token) = (Arc::clone(&app), code.clone(), room.student.access.clone());
        tokio::spawn(async move {
            let r = app
                .post(&format!("/v1/sessions/{code}/complete"))
                .token(&token)
                .json(&json!({"device_id": format!("device-{}", i % 50)}))
                .send()
                .await;
            r.ok(200)
        })
    });
    let reports: Vec<serde_json::Value> = join_all(reports)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(reports.iter().filter(|r| r["created"] == true).count(), 50);
    assert!(reports.iter().all(|r| r["step"] == 0));

    let session = app
        .get(&format!("/v1/sessions/{code}"))
        .token(&room.student.access)
        .send()
        .await
        .ok(200);
    assert_eq!(session["participant_count"], 50);
    assert_eq!(session["completed_count"], 50);
    let (participants,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM participants")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    let (distinct,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT device_id) FROM participants")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    let (completions,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM completions")
        .fetch_one(&app.state.db)
        .await
        .expect("count");
    assert_eq!((participants, distinct, completions), (50, 50, 50));

    // The next step starts from zero.
    let next = app
        .post(&format!("/v1/sessions/{code}/next-step"))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    assert_eq!(
        (
            next["current_step"].as_i64(),
            next["completed_count"].as_i64()
        ),
        (Some(1), Some(0))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_enrollments_give_one_enrollment_and_already_enrolled_for_the_rest() {
    let app = Arc::new(spawn().await);
    let room = app.classroom().await;
    let newcomer = app.user("new@example.com", "student").await;
    let tries = (0..20).map(|_| {
        let (app, token, lecture) = (Arc::clone(&app), newcomer.access.clone(), room.lecture);
        tokio::spawn(async move {
            app.post(&format!("/v1/lectures/{lecture}/enroll"))
                .token(&token)
                .send()
                .await
        })
    });
    let results: Vec<Resp> = join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    for r in results.iter().filter(|r| r.status != 201) {
        r.err(c::ALREADY_ENROLLED);
    }
    let lecture = app
        .get(&format!("/v1/lectures/{}", room.lecture))
        .token(&newcomer.access)
        .send()
        .await
        .ok(200);
    assert_eq!(lecture["student_count"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_refreshes_with_one_token_give_one_new_pair() {
    let apps = [Arc::new(spawn().await)];
    let user = apps[0].user("kim@example.com", "student").await;
    one_winner(&apps, 10, c::TOKEN_BLACKLISTED, |app| {
        let refresh = user.refresh.clone();
        async move {
            app.post("/v1/auth/refresh")
                .json(&json!({"refresh": refresh}))
                .send()
                .await
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simultaneous_starts_give_one_start() {
    starts_race(&[Arc::new(spawn().await)], 10).await;
}

// ── several instances of the service on one database ────────────────────────────────────────
//
// Run with `DATABASE_URL=postgres://…` (as `.ci/run` does), these are replicas sharing one
/// Sends `tries` requests at once, spread round-robin over `apps`, and asserts that exactly one
/// succeeds and every other answers `loser`.
async fn one_winner<F, Fut>(apps: &[Arc<TestApp>], tries: usize, loser: errata::Code, send: F)
where
    F: Fn(Arc<TestApp>) -> Fut,
    Fut: std::future::Future<Output = Resp> + Send + 'static,
{
    let tasks = (0..tries).map(|i| tokio::spawn(send(Arc::clone(&apps[i % apps.len()]))));
    let results: Vec<Resp> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.status == 200).count(), 1);
    for r in results.iter().filter(|r| r.status != 200) {
        r.err(loser);
    }
}

/// `tries` simultaneous starts of one session over `apps`: one start, the rest
/// `SESSION_ALREADY_STARTED`.
async fn starts_race(apps: &[Arc<TestApp>], tries: usize) {
    let room = apps[0].classroom().await;
    one_winner(apps, tries, c::SESSION_ALREADY_STARTED, |app| {
        let (token, code) = (room.instructor.access.clone(), room.session.clone());
        async move {
            app.post(&format!("/v1/sessions/{code}/start"))
                .token(&token)
                .send()
                .await
        }
    })
    .await;
}

// PostgreSQL: no process-level lock can help, only the database's constraints and row locks.

/// The app and two replicas on its database.
async fn cluster() -> Vec<Arc<TestApp>> {
    let first = spawn().await;
    let second = first.replica().await;
    let third = first.replica().await;
    vec![Arc::new(first), Arc::new(second), Arc::new(third)]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_replicas_twenty_enrollments_give_exactly_one() {
    let apps = cluster().await;
    let room = apps[0].classroom().await;
    let newcomer = apps[1].user("new@example.com", "student").await;
    let tries = (0..20).map(|i| {
        let (app, token, lecture) = (
            Arc::clone(&apps[i % apps.len()]),
            newcomer.access.clone(),
            room.lecture,
        );
        tokio::spawn(async move {
            app.post(&format!("/v1/lectures/{lecture}/enroll"))
                .token(&token)
                .send()
                .await
        })
    });
    let results: Vec<Resp> = join_all(tries)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect();
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    for r in results.iter().filter(|r| r.status != 201) {
        r.err(c::ALREADY_ENROLLED);
    }
    let (count,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM enrollments WHERE lecture_id = $1 AND user_id = $2")
            .bind(room.lecture)
            .bind(newcomer.id)
            .fetch_one(&apps[2].state.db)
            .await
            .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_replicas_joins_reports_and_step_changes_give_exact_counts() {
    let apps = cluster().await;
    let room = apps[0].classroom().await;
    let code = room.session.clone();
    apps[1]
        .post(&format!("/v1/sessions/{code}/start"))
        .token(&room.instructor.access)
        .send()
        .await
        .ok(200);
    // 60 joins of 20 devices (each three times, through different replicas).
    let joins = (0..60).map(|i| {
        let (app, code, token) = (
            Arc::clone(&apps[i % 3]),
            code.clone(),
            room.student.access.clone(),
        );
        tokio::spawn(async move {
            app.post(&format!("/v1/sessions/{code}/join"))
                .token(&token)
                .json(&json!({"device_id": format!("device-{}", i / 3)}))
                .send()
                .await
        })
    });
    let joined: Vec<Resp> = join_all(joins)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(joined.iter().filter(|r| r.status == 201).count(), 20);
    assert_eq!(joined.iter().filter(|r| r.status == 200).count(), 40);

    // Every device reports step 0 three times, through different replicas, while the
    // instructor moves to step 1 on another: each report counts for the step it saw, once.
    let reports = (0..60).map(|i| {
        let (app, code, token) = (
            Arc::clone(&apps[(i + 1) % 3]),
            code.clone(),
            room.student.access.clone(),
        );
        tokio::spawn(async move {
            app.post(&format!("/v1/sessions/{code}/complete"))
                .token(&token)
                .json(&json!({"device_id": format!("device-{}", i % 20)}))
                .send()
                .await
        })
    });
    let step = {
        let (app, code, token) = (
            Arc::clone(&apps[2]),
            code.clone(),
            room.instructor.access.clone(),
        );
        tokio::spawn(async move {
            app.post(&format!("/v1/sessions/{code}/next-step"))
                .token(&token)
                .send()
                .await
        })
    };
    let reported: Vec<Resp> = join_all(reports)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    step.await.unwrap().ok(200);
    let mut recorded = std::collections::HashMap::<(i64, String), usize>::new();
    for (i, r) in reported.iter().enumerate() {
        let body = r.ok(200);
        if body["created"] == true {
            let step = body["step"].as_i64().unwrap();
            *recorded
                .entry((step, format!("device-{}", i % 20)))
                .or_default() += 1;
        }
    }
    assert!(
        recorded.values().all(|n| *n == 1),
        "a report counted twice: {recorded:?}"
    );
    let db = &apps[0].state.db;
    for step in [0_i64, 1] {
        let (stored,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM completions c JOIN sessions s ON s.id = c.session_id WHERE s.code = $1 AND c.step = $2")
                .bind(&code)
                .bind(step)
                .fetch_one(db)
                .await
                .unwrap();
        let created = recorded.keys().filter(|(s, _)| *s == step).count() as i64;
        assert_eq!(stored, created, "step {step}: stored = reported as created");
    }
    let view = apps[1]
        .get(&format!("/v1/sessions/{code}"))
        .token(&room.student.access)
        .send()
        .await
        .ok(200);
    assert_eq!(view["participant_count"], 20);
    assert_eq!(view["current_step"], 1);
    let step1 = recorded.keys().filter(|(s, _)| *s == 1).count();
    assert_eq!(view["completed_count"], step1 as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_replicas_refreshes_with_one_token_give_one_winner() {
    let apps = cluster().await;
    let user = apps[0].user("kim@example.com", "student").await;
    one_winner(&apps, 12, c::TOKEN_BLACKLISTED, |app| {
        let refresh = user.refresh.clone();
        async move {
            app.post("/v1/auth/refresh")
                .json(&json!({"refresh": refresh}))
                .send()
                .await
        }
    })
    .await;
    let (rotated,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM refresh_tokens WHERE user_id = $1 AND revoked_reason = 'rotated'",
    )
    .bind(user.id)
    .fetch_one(&apps[1].state.db)
    .await
    .unwrap();
    assert_eq!(rotated, 1, "the token was rotated exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn across_replicas_simultaneous_starts_give_one_start() {
    starts_race(&cluster().await, 12).await;
}
