// The real @sentry/node SDK pointed at errata relay (the DSN in SENTRY_DSN).
//
//   node send.mjs handled N   N handled Kakao account errors (tagged with their errata code)
//                             and one event above 32 KiB, which the SDK gzips; prints a JSON line
//   node send.mjs uncaught    an uncaught exception: the SDK's handler reports it, then exits 1
import * as Sentry from "@sentry/node";

class KakaoAccountNotAvailableError extends Error {
  constructor(code, msg) {
    super(`Kakao answered 400 with code ${code}: ${msg}`);
    this.name = "KakaoAccountNotAvailableError";
    this.kakaoCode = code;
  }
}

class GradebookSyncError extends Error {
  constructor(message) {
    super(message);
    this.name = "GradebookSyncError";
  }
}

const [mode, count = "20"] = process.argv.slice(2);
const sent = [];
Sentry.init({
  dsn: process.env.SENTRY_DSN,
  environment: "ci",
  release: "relaydemo-node@1.0.0",
  sendDefaultPii: true,
  tracesSampleRate: 0,
  beforeSend(event) {
    sent.push(event.event_id);
    return event;
  },
});
Sentry.setTag("error_code_source", "node-example");
// A planted secret: the relay must scrub it from everything it writes.
Sentry.setContext("session", { authorization: "Bearer nodeAT-PLANTEDauthz41d9c2", password: "PLANTEDnodepw8e3f" });

if (mode === "handled") {
  for (let i = 0; i < Number(count); i++) {
    Sentry.withScope((scope) => {
      scope.setTag("error_code", "KAKAO_ACCOUNT_NOT_AVAILABLE");
      scope.setTransactionName("POST /v1/auth/kakao/link");
      // One user each, as in a real storm (the SDK's dedupe drops back-to-back identical events).
      Sentry.captureException(new KakaoAccountNotAvailableError(-501, `NotKakaoTalkUser (user ${1000 + i})`));
    });
  }
  // Above the transport's 32 KiB threshold: sent gzip-encoded (and chunked).
  const rows = Array.from({ length: 900 }, (_, i) => ({ row: i, lecture: `lecture-${i}`, grade: (i * 37) % 101 }));
  Sentry.withScope((scope) => {
    scope.setTransactionName("POST /v1/gradebook/sync");
    scope.setExtra("gradebook_rows", rows);
    Sentry.captureException(new GradebookSyncError("the gradebook upstream rejected 900 rows"));
  });
  const flushed = await Sentry.flush(60_000);
  console.log(JSON.stringify({ flushed, sent }));
  process.exit(flushed ? 0 : 2);
} else if (mode === "uncaught") {
  setTimeout(() => {
    const lecture = undefined;
    // A real bug: the SDK's onUncaughtException integration reports it, flushes, exits 1.
    console.log(lecture.lectureId);
  }, 10);
} else {
  console.error("usage: node send.mjs handled [N] | uncaught");
  process.exit(64);
}
