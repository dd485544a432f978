//! Password hashing with Argon2id, off the async runtime, with bounded memory.
//!
//! An Argon2 hash with the standard parameters fills 19 MiB. Hashing is therefore admitted
//! through a semaphore of [`Config::hash_concurrency`](crate::config::Config) slots (the
//! machine's cores by default): a request waits at most
//! [`Config::hash_wait`](crate::config::Config) for a slot, then answers `AUTH_BUSY` (503 with
//! `Retry-After`) without hashing anything. Each slot hashes into a memory buffer kept for it
//! and reused, so the memory of password hashing is at most `slots × 19 MiB`, allocated once,
//! however many logins arrive; freed buffers never pile up in the allocator's per-thread arenas.
//!
//! A slot is released when its hash is done, not when the request goes away: a client that
//! disconnects mid-login does not let a new hash start beside its own.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::{rand_core::OsRng, Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use errata::ApiError;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::PasswordHashing;
use crate::errors;

/// Length of the hashes written (Argon2's default, 32 bytes).
const OUTPUT_LEN: usize = 32;

/// Hashes and verifies passwords, a bounded number at a time.
#[derive(Debug, Clone)]
pub struct Passwords {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    params: Params,
    /// A hash of a random password, verified against when the email is unknown so that an
    /// unknown email takes as long to reject as a wrong password.
    dummy: String,
    slots: Arc<Semaphore>,
    capacity: usize,
    wait: Duration,
    /// Argon2 memory, one buffer per slot in use at most; reused from hash to hash.
    buffers: Mutex<Vec<Box<[Block]>>>,
    buffers_allocated: AtomicUsize,
    running: AtomicUsize,
    peak_running: AtomicUsize,
    admitted: AtomicU64,
    refused: AtomicU64,
}

/// What [`Passwords`] has done so far (for tests, metrics and benchmarks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingStats {
    /// The number of slots: at most this many hashes run at once.
    pub capacity: usize,
    /// The most hashes that ever ran at once.
    pub peak_running: usize,
    /// Argon2 memory buffers ever allocated (never more than `capacity`).
    pub buffers_allocated: usize,
    /// Hashes and verifications admitted.
    pub admitted: u64,
    /// Requests answered `AUTH_BUSY` after waiting for a slot.
    pub refused: u64,
}

/// Every hashing slot, held (see [`Passwords::occupy_all`]).
#[derive(Debug)]
pub struct Occupied {
    _permit: OwnedSemaphorePermit,
}

impl Passwords {
    /// Hashing with the cost of `hashing`, at most `concurrency` hashes at once, a request
    /// waiting at most `wait` for its turn.
    pub fn new(
        hashing: PasswordHashing,
        concurrency: usize,
        wait: Duration,
    ) -> anyhow::Result<Self> {
        let params = match hashing {
            PasswordHashing::Fast => Params::new(Params::MIN_M_COST, 1, 1, Some(OUTPUT_LEN)),
            _ => Params::new(19 * 1024, 2, 1, Some(OUTPUT_LEN)),
        }
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
        let capacity = concurrency.max(1);
        let mut inner = Inner {
            params,
            dummy: String::new(),
            slots: Arc::new(Semaphore::new(capacity)),
            capacity,
            wait,
            buffers: Mutex::new(Vec::new()),
            buffers_allocated: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            peak_running: AtomicUsize::new(0),
            admitted: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        };
        let random = SaltString::generate(&mut OsRng);
        let mut blocks = vec![Block::default(); inner.params.block_count()];
        inner.dummy = inner.hash_with(random.as_str().as_bytes(), &mut blocks)?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// What has been hashed and refused so far.
    pub fn stats(&self) -> HashingStats {
        let i = &self.inner;
        HashingStats {
            capacity: i.capacity,
            peak_running: i.peak_running.load(Ordering::SeqCst),
            buffers_allocated: i.buffers_allocated.load(Ordering::SeqCst),
            admitted: i.admitted.load(Ordering::SeqCst),
            refused: i.refused.load(Ordering::SeqCst),
        }
    }

    /// Occupies every slot until the result is dropped, as a flood of logins would: for
    /// drills and tests of the refusal path.
    pub async fn occupy_all(&self) -> Occupied {
        let permits = u32::try_from(self.inner.capacity).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.inner.slots)
            .acquire_many_owned(permits)
            .await
            .expect("the semaphore is never closed");
        Occupied { _permit: permit }
    }

    /// A slot, within the configured wait, or `AUTH_BUSY`.
    async fn admit(&self) -> Result<OwnedSemaphorePermit, ApiError> {
        let slots = Arc::clone(&self.inner.slots);
        let permit = if self.inner.wait.is_zero() {
            slots.try_acquire_owned().ok()
        } else {
            tokio::time::timeout(self.inner.wait, slots.acquire_owned())
                .await
                .ok()
                .and_then(Result::ok)
        };
        match permit {
            Some(permit) => {
                self.inner.admitted.fetch_add(1, Ordering::SeqCst);
                Ok(permit)
            }
            None => {
                self.inner.refused.fetch_add(1, Ordering::SeqCst);
                let retry_after = self.inner.wait.as_secs_f64().ceil().max(1.0) as u64;
                Err(
                    errors::auth_busy(i64::try_from(retry_after).unwrap_or(i64::MAX))
                        .with_retry_after(retry_after),
                )
            }
        }
    }

    /// Runs `work` with a slot and its memory, on a blocking thread.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Inner, &mut [Block]) -> anyhow::Result<T> + Send + 'static,
    ) -> Result<T, ApiError> {
        let permit = self.admit().await?;
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let running = inner.running.fetch_add(1, Ordering::SeqCst) + 1;
            inner.peak_running.fetch_max(running, Ordering::SeqCst);
            let mut buffer = inner.take_buffer();
            let result = work(&inner, &mut buffer);
            inner.return_buffer(buffer);
            inner.running.fetch_sub(1, Ordering::SeqCst);
            result
        })
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| ApiError::internal(std::io::Error::other(e.to_string())))
    }

    /// The PHC string of `password` with a fresh salt (`AUTH_BUSY` when no slot frees in time).
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        self.run(move |inner, blocks| inner.hash_with(password.as_bytes(), blocks))
            .await
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it spends the same time
    /// and answers `false` (`AUTH_BUSY` when no slot frees in time).
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool, ApiError> {
        let known = hash.is_some();
        let ok = self
            .run(move |inner, blocks| {
                let hash = hash.as_deref().unwrap_or(&inner.dummy);
                inner.verify_with(password.as_bytes(), hash, blocks)
            })
            .await?;
        Ok(known && ok)
    }
}

impl Inner {
    fn take_buffer(&self) -> Box<[Block]> {
        let reused = self
            .buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        reused.unwrap_or_else(|| {
            self.buffers_allocated.fetch_add(1, Ordering::SeqCst);
            vec![Block::default(); self.params.block_count()].into_boxed_slice()
        })
    }

    fn return_buffer(&self, buffer: Box<[Block]>) {
        self.buffers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(buffer);
    }

    fn hash_with(&self, password: &[u8], blocks: &mut [Block]) -> anyhow::Result<String> {
        let fail = |e: &dyn std::fmt::Display| anyhow::anyhow!("hashing a password failed: {e}");
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| fail(&e))?;
        let mut out = [0u8; OUTPUT_LEN];
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
            .hash_password_into_with_memory(
                password,
                salt_bytes,
                &mut out,
                &mut blocks[..self.params.block_count()],
            )
            .map_err(|e| fail(&e))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&self.params).map_err(|e| fail(&e))?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(|e| fail(&e))?),
        };
        Ok(phc.to_string())
    }

    fn verify_with(
        &self,
        password: &[u8],
        phc: &str,
        blocks: &mut [Block],
    ) -> anyhow::Result<bool> {
        let bad = |e: &dyn std::fmt::Display| anyhow::anyhow!("stored password hash: {e}");
        let parsed = PasswordHash::new(phc).map_err(|e| bad(&e))?;
        let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|e| bad(&e))?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(|e| bad(&e))?,
            None => Version::default(),
        };
        let params = Params::try_from(&parsed).map_err(|e| bad(&e))?;
        let expected = parsed.hash.ok_or_else(|| bad(&"no hash"))?;
        let salt = parsed.salt.ok_or_else(|| bad(&"no salt"))?;
        let mut salt_buf = [0u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| bad(&e))?;
        let mut out = vec![0u8; expected.len()];
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let needed = params.block_count();
        // A hash stored with more memory than today's parameters (they were lowered since):
        // its own buffer, still one per slot at most.
        let mut larger;
        let memory = if needed <= blocks.len() {
            &mut blocks[..needed]
        } else {
            larger = vec![Block::default(); needed];
            &mut larger[..]
        };
        argon2
            .hash_password_into_with_memory(password, salt_bytes, &mut out, memory)
            .map_err(|e| bad(&e))?;
        // `Output`'s equality is constant-time.
        Ok(Output::new(&out).map_err(|e| bad(&e))? == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHasher, PasswordVerifier};

    fn fast(concurrency: usize, wait: Duration) -> Passwords {
        Passwords::new(PasswordHashing::Fast, concurrency, wait).unwrap()
    }

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_match() {
        let p = fast(2, Duration::from_secs(60));
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$"), "{h}");
        assert!(p
            .verify("correct horse".into(), Some(h.clone()))
            .await
            .unwrap());
        assert!(!p.verify("wrong horse".into(), Some(h)).await.unwrap());
        assert!(!p.verify("anything".into(), None).await.unwrap());
        assert_eq!(p.stats().admitted, 4);
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        let p = fast(1, Duration::from_secs(60));
        // Ours verifies with the argon2 crate's own verifier...
        let ours = p.hash("pa55word".into()).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default()
            .verify_password(b"pa55word", &parsed)
            .is_ok());
        assert!(Argon2::default().verify_password(b"nope", &parsed).is_err());
        // ...and the crate's hashes (other parameters, more memory) verify with ours.
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"pa55word", &salt)
            .unwrap()
            .to_string();
        assert!(p
            .verify("pa55word".into(), Some(theirs.clone()))
            .await
            .unwrap());
        assert!(!p.verify("nope".into(), Some(theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn with_every_slot_taken_requests_are_refused_with_retry_after() {
        let p = fast(2, Duration::ZERO);
        let held = p.occupy_all().await;
        let err = p.verify("x".into(), None).await.unwrap_err();
        assert_eq!(err.code(), crate::errors::codes::AUTH_BUSY);
        assert_eq!(err.retry_after(), Some(1));
        let err = p.hash("x".into()).await.unwrap_err();
        assert_eq!(err.code(), crate::errors::codes::AUTH_BUSY);
        assert_eq!((p.stats().admitted, p.stats().refused), (0, 2));
        drop(held);
        assert!(p.hash("x".into()).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_flood_never_runs_more_hashes_or_holds_more_memory_than_the_slots() {
        let p = fast(3, Duration::from_secs(600));
        let hash = p.hash("secret".into()).await.unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let (p, hash) = (p.clone(), hash.clone());
                tokio::spawn(async move {
                    let password = if i % 2 == 0 { "secret" } else { "wrong" };
                    p.verify(password.into(), Some(hash)).await.unwrap() == (i % 2 == 0)
                })
            })
            .collect();
        for t in tasks {
            assert!(
                t.await.unwrap(),
                "every admitted verification answers rightly"
            );
        }
        let stats = p.stats();
        assert_eq!(stats.admitted, 201);
        assert_eq!(stats.refused, 0);
        assert!(stats.peak_running <= 3, "{stats:?}");
        assert!(stats.buffers_allocated <= 3, "{stats:?}");
    }
}
