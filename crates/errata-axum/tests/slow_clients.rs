//! 2,000 slow clients against `errata_axum::serve` in a child process limited to 1,024 file
//! descriptors: normal requests keep being answered while the attack holds, and the attack's
//! connections are closed by the header-read timeout.

#[path = "support/slow.rs"]
mod slow;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

const TEST_NAME: &str = "two_thousand_slow_clients_do_not_starve_normal_requests";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_thousand_slow_clients_do_not_starve_normal_requests() {
    if slow::is_child() {
        slow::child_server().await;
        return;
    }
    let nofile = slow::raise_nofile(8192);
    assert!(
        nofile >= 2500,
        "the attacker needs 2,500 descriptors; the hard limit allows {nofile}"
    );
    let exe = std::env::current_exe().unwrap();
    let server = slow::spawn_server(
        &exe,
        &[TEST_NAME, "--exact", "--nocapture"],
        Duration::from_secs(5),
    )
    .await;

    for _ in 0..20 {
        slow::normal_request(server.addr)
            .await
            .expect("before the attack");
    }

    // 2,000 slow clients from eight addresses, one byte every two seconds.
    let mut attack = slow::Attack::start(server.addr, 2000, 8, Duration::from_secs(2));
    let give_up = Instant::now() + Duration::from_secs(120);
    while attack.held() < 400 {
        assert!(
            Instant::now() < give_up,
            "the attack never got going: {} held",
            attack.held()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // While the attack holds its connections, every normal request is answered.
    let mut answered = 0;
    for i in 0..200 {
        slow::normal_request(server.addr)
            .await
            .unwrap_or_else(|e| panic!("normal request {i} during the attack: {e}"));
        answered += 1;
    }
    assert_eq!(answered, 200);
    assert!(
        attack.held() >= 100,
        "the attack was still holding connections: {}",
        attack.held()
    );

    // The held connections are closed by the header-read timeout, although they keep sending.
    while attack.stats.closed_while_trickling.load(Ordering::Relaxed) < 400 {
        assert!(
            Instant::now() < give_up,
            "slow connections are not being closed: {} closed while trickling, {} held",
            attack.stats.closed_while_trickling.load(Ordering::Relaxed),
            attack.held()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The caps closed the rest as soon as they were accepted.
    assert!(attack.stats.closed_at_once.load(Ordering::Relaxed) > 0);
    attack.stop();

    slow::normal_request(server.addr)
        .await
        .expect("after the attack");
    let log = server.stderr_text();
    assert!(
        !log.contains("Too many open files") && !log.contains("accept failed"),
        "the server ran out of descriptors:\n{log}"
    );
}
