//! The demo's six steps, one method each; `super::migrate` plays them in order.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use mc_aws_common::output::human_count;
use mc_testkit::aws_sdk_s3::Client as S3;
use mc_testkit::aws_sdk_sqs::Client as Sqs;
use mc_testkit::Emulator;
use serde_json::Value;

use super::fixture::{self, Application, Written};
use super::summary::{self, objects_bytes, rate, secs, EndState, Row};
use super::tools::{Background, Run, Tools};
use super::{cloud, counted, describe_drift, drain, heading, num, with_heartbeat};
use super::{DemoArgs, DEST, INTERRUPTED, QUEUE, SOURCE};

/// What the steps share: the emulator's clients, the tools, and the
/// summary's rows as they come.
pub(super) struct Story<'a> {
    s3: S3,
    sqs: Sqs,
    tools: &'a Tools,
    args: &'a DemoArgs,
    src: String,
    dst: String,
    timeout: Duration,
    rows: Vec<Row>,
}

/// What step 1 leaves running: the application, and what it wrote first.
pub(super) struct Live {
    app: Application,
    initial: Written,
}

/// What the live replication of step 2 is: the worker, its queue.
pub(super) struct Replication {
    worker: Background,
    queue: String,
}

impl<'a> Story<'a> {
    pub(super) async fn new(emulator: &Emulator, tools: &'a Tools, args: &'a DemoArgs) -> Self {
        Self {
            s3: emulator.s3().await,
            sqs: emulator.sqs().await,
            tools,
            args,
            src: format!("s3://{SOURCE}"),
            dst: format!("s3://{DEST}"),
            timeout: args.tool_timeout(),
            rows: Vec::new(),
        }
    }

    /// 1. The application's bucket, live.
    pub(super) async fn source_bucket(&mut self) -> Result<Live> {
        heading(
            "1",
            "The application's bucket, with the application writing to it",
        );
        cloud::create_bucket(&self.s3, SOURCE).await;
        println!(
            "    created {} (ACLs enabled: Object Ownership = ObjectWriter)",
            self.src
        );
        let started = Instant::now();
        let initial = fixture::upload(&self.s3, SOURCE, self.args.objects).await?;
        let upload_time = started.elapsed();
        println!(
            "    uploaded {} ({} public-read, {} private) with metadata, in {} ({})",
            objects_bytes(initial.objects, initial.bytes),
            human_count(initial.public),
            human_count(initial.objects - initial.public),
            secs(upload_time),
            rate(initial.objects, upload_time)
        );
        let samples: Vec<String> = (1..=3)
            .map(|i| format!("`{}`", fixture::ObjectSpec::new(i, "").key))
            .collect();
        println!("    keys like {}", samples.join(", "));
        self.rows.push(
            Row::new(
                "initial objects",
                "(the application)",
                objects_bytes(initial.objects, initial.bytes),
            )
            .took(upload_time, Some(initial.objects)),
        );
        let write_rate = self.args.write_rate();
        let app = Application::start(
            self.s3.clone(),
            SOURCE.to_owned(),
            self.args.objects,
            write_rate,
        );
        println!(
            "    the application keeps writing: {write_rate} new objects/s under live/, until the switch-over"
        );
        Ok(Live { app, initial })
    }

    /// 2. Size it, create the destination, start live replication.
    pub(super) async fn size_and_replicate(
        &mut self,
        queue_url: &OnceLock<String>,
    ) -> Result<Replication> {
        heading(
            "2",
            "Size the source; create the new bucket; start live replication",
        );
        let count = self
            .tools
            .run("s3-key-counter", &["-o", "json", &self.src], self.timeout)
            .await?;
        let (objects, bytes) = counted(&count, &self.src)?;
        println!(
            "    {}: {} (listed in {})",
            self.src,
            objects_bytes(objects, bytes),
            secs(count.elapsed)
        );
        self.rows.push(
            Row::new(
                "size the source",
                "s3-key-counter",
                objects_bytes(objects, bytes),
            )
            .took(count.elapsed, Some(objects)),
        );
        cloud::create_bucket(&self.s3, DEST).await;
        println!("    created {} (ACLs enabled)", self.dst);
        let queue = cloud::wire_events(&self.s3, &self.sqs, SOURCE, QUEUE).await?;
        let _ = queue_url.set(queue.clone());
        println!(
            "    {} sends s3:ObjectCreated:* events to SQS {queue}",
            self.src
        );
        let args = [
            "worker", "-q", "-o", "json", "--queue", &queue, &self.src, &self.dst,
        ];
        let mut worker = self.tools.spawn("s3-copier", &args)?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        if let Some(code) = worker.exited() {
            bail!("s3-copier worker exited at once (exit code {code})");
        }
        println!("    live replication is running: every new object is copied as it is written");
        Ok(Replication { worker, queue })
    }

    /// 3. The backfill, while the application writes.
    pub(super) async fn backfill(&mut self, live: &Live, repl: &Replication) -> Result<()> {
        heading(
            "3",
            "Backfill with s3-copier sync while the application writes",
        );
        let sync_args = ["sync", "-o", "json", &self.src, &self.dst];
        let sync = with_heartbeat(
            self.tools.run("s3-copier", &sync_args, self.timeout),
            &live.app,
            &self.sqs,
            &repl.queue,
        )
        .await?;
        let c = sync.last_with("elapsed_seconds")?;
        let (copied, copied_bytes) = (num(&c["copied"]), num(&c["copied_bytes"]));
        println!(
            "    compared {} objects; copied {} in {} ({}); {} already there; {} failed",
            human_count(num(&c["listed"])),
            objects_bytes(copied, copied_bytes),
            secs(sync.elapsed),
            rate(copied, sync.elapsed),
            human_count(num(&c["skipped"])),
            human_count(num(&c["failed"]))
        );
        if sync.code != 0 {
            bail!(
                "s3-copier sync failed (exit code {}): {}",
                sync.code,
                c["failures"]
            );
        }
        self.rows.push(
            Row::new(
                "backfill",
                "s3-copier sync",
                format!("copied {}", objects_bytes(copied, copied_bytes)),
            )
            .took(sync.elapsed, Some(copied)),
        );
        Ok(())
    }

    /// 4. Moderation, then the ACL drift is found and fixed.
    pub(super) async fn acl_drift(&mut self) -> Result<()> {
        heading(
            "4",
            "Moderation changes ACLs on the source; acl-reconciler fixes the copies",
        );
        let a = self.args;
        let (hidden, shown) = fixture::moderate(&self.s3, SOURCE, a.objects, a.moderated()).await?;
        println!(
            "    moderation: {} public objects made private (reported), {} private ones made public-read (approved)",
            hidden.len(),
            shown.len()
        );
        println!("    (no S3 event for an ACL change in the story, so the copies are now stale)");
        let drifted = self.find_drift().await?;
        self.fix_drift(&drifted).await
    }

    /// The plan: which keys drifted (to fix, or needing --allow-public).
    async fn find_drift(&mut self) -> Result<Vec<String>> {
        let args = ["-o", "json", &self.src, &self.dst];
        let plan = self
            .tools
            .run("acl-reconciler", &args, self.timeout)
            .await?;
        let summary = plan.last_with("summary")?["summary"].clone();
        if plan.code != 0 {
            bail!(
                "acl-reconciler (plan) failed (exit code {}): {summary}",
                plan.code
            );
        }
        let drifted: Vec<&Value> = plan
            .lines
            .iter()
            .filter(|l| matches!(l["action"].as_str(), Some("plan" | "skipped-public")))
            .collect();
        let in_flight = match num(&summary["missing_in_destination"]) {
            0 => String::new(),
            n => format!(
                "; {} new ones not at the destination yet (the worker has them)",
                human_count(n)
            ),
        };
        println!(
            "    checked {} keys in {}: {} drifted ({} to fix, {} would make objects public: \
             need --allow-public){in_flight}",
            human_count(num(&summary["checked"])),
            secs(plan.elapsed),
            human_count(num(&summary["drift"])),
            human_count(num(&summary["planned"])),
            human_count(num(&summary["skipped_public"])),
        );
        // A few of each kind.
        for action in ["plan", "skipped-public"] {
            for line in drifted.iter().filter(|l| l["action"] == action).take(2) {
                println!("      {}", describe_drift(line));
            }
        }
        self.rows.push(
            Row::new(
                "find ACL drift",
                "acl-reconciler",
                format!(
                    "{} keys checked, {} drifted",
                    human_count(num(&summary["checked"])),
                    human_count(num(&summary["drift"]))
                ),
            )
            .took(plan.elapsed, Some(num(&summary["checked"]))),
        );
        Ok(drifted
            .iter()
            .filter_map(|l| l["key"].as_str().map(String::from))
            .collect())
    }

    /// `--apply --allow-public --keys-from` the drifted keys.
    async fn fix_drift(&mut self, drifted: &[String]) -> Result<()> {
        let keys_file = tempfile::Builder::new()
            .prefix("demo-drifted-")
            .tempfile()
            .context("cannot create a temp file for the drifted keys")?;
        let keys: String = drifted.iter().map(|k| format!("{k}\n")).collect();
        std::fs::write(keys_file.path(), keys).context("cannot write the drifted keys")?;
        println!(
            "    moderation approved the newly public objects: apply with --allow-public, \
             for the drifted keys only (--keys-from)"
        );
        let keys_path = keys_file.path().display().to_string();
        let args = [
            "--apply",
            "--allow-public",
            "--keys-from",
            &keys_path,
            "-o",
            "json",
            &self.src,
            &self.dst,
        ];
        let apply = self
            .tools
            .run("acl-reconciler", &args, self.timeout)
            .await?;
        let applied = apply.last_with("summary")?["summary"].clone();
        println!(
            "    fixed {} of {} in {}; {} errors",
            human_count(num(&applied["fixed"])),
            human_count(drifted.len() as u64),
            secs(apply.elapsed),
            human_count(num(&applied["errors"]))
        );
        if apply.code != 0 {
            bail!(
                "acl-reconciler --apply failed (exit code {}): {applied}",
                apply.code
            );
        }
        self.rows.push(
            Row::new(
                "fix ACL drift",
                "acl-reconciler --apply",
                format!("{} fixed", human_count(num(&applied["fixed"]))),
            )
            .took(apply.elapsed, Some(num(&applied["checked"]))),
        );
        Ok(())
    }

    /// Step 5, the switch-over: writes stop, the queue drains, both buckets
    /// are compared; what the end state is made of.
    pub(super) async fn switch_over(
        &mut self,
        live: Live,
        repl: Replication,
    ) -> Result<(EndState, Run)> {
        heading(
            "5",
            "Switch the application to the new bucket; drain; verify",
        );
        let written = self.stop_writes(live).await?;
        let worker = self.stop_replication(repl).await?;
        let wr = worker.last_with("copied")?.clone();
        let totals = self.verify().await?;
        let (source, dest) = self.count_both().await?;
        let end = EndState {
            checked: num(&totals["checked"]),
            missing: num(&totals["missing"]),
            different: num(&totals["different"]),
            acl_different: num(&totals["acl_different"]),
            verify_errors: num(&totals["errors"]),
            source,
            dest,
            written,
            worker_failed: num(&wr["failed_messages"]),
        };
        Ok((end, worker))
    }

    /// The application's writes stop; all it wrote, first and since.
    async fn stop_writes(&mut self, live: Live) -> Result<(u64, u64)> {
        let (written, write_time): (Written, Duration) = live.app.stop().await?;
        println!(
            "    the application wrote {} during the migration ({}); it now writes to {}",
            objects_bytes(written.objects, written.bytes),
            rate(written.objects, write_time),
            self.dst
        );
        self.rows.push(
            Row::new(
                "live writes",
                "(the application)",
                objects_bytes(written.objects, written.bytes),
            )
            .took(write_time, Some(written.objects)),
        );
        let i = &live.initial;
        Ok((i.objects + written.objects, i.bytes + written.bytes))
    }

    /// The queue drains; the worker stops with SIGTERM.
    async fn stop_replication(&mut self, repl: Replication) -> Result<Run> {
        let drain_time = drain(&self.sqs, &repl.queue, self.timeout).await?;
        println!("    the event queue drained in {}", secs(drain_time));
        let worker = repl.worker.stop(Duration::from_secs(30)).await?;
        let wr = worker.last_with("copied")?;
        println!(
            "    s3-copier worker stopped with SIGTERM: {} messages, copied {}, {} failed (exit code {})",
            human_count(num(&wr["messages"])),
            human_count(num(&wr["copied"])),
            human_count(num(&wr["failed_messages"])),
            worker.code
        );
        self.rows.push(
            Row::new(
                "live replication",
                "s3-copier worker",
                format!(
                    "copied {} ({} events)",
                    human_count(num(&wr["copied"])),
                    human_count(num(&wr["records"]))
                ),
            )
            .took(worker.elapsed, None),
        );
        Ok(worker)
    }

    /// `s3-copier verify --acl`: the totals.
    async fn verify(&mut self) -> Result<Value> {
        let args = ["verify", "--acl", "-o", "json", &self.src, &self.dst];
        let verify = self.tools.run("s3-copier", &args, self.timeout).await?;
        let totals = verify.last_with("totals")?["totals"].clone();
        println!(
            "    verify: {} checked, {} missing, {} different, {} ACL different, {} extra (exit code {})",
            human_count(num(&totals["checked"])),
            human_count(num(&totals["missing"])),
            human_count(num(&totals["different"])),
            human_count(num(&totals["acl_different"])),
            human_count(num(&totals["extra"])),
            verify.code
        );
        self.rows.push(
            Row::new(
                "verify",
                "s3-copier verify --acl",
                format!(
                    "{} checked, {} missing, {} different, {} ACL different",
                    human_count(num(&totals["checked"])),
                    human_count(num(&totals["missing"])),
                    human_count(num(&totals["different"])),
                    human_count(num(&totals["acl_different"]))
                ),
            )
            .took(verify.elapsed, Some(num(&totals["checked"]))),
        );
        Ok(totals)
    }

    /// `s3-key-counter` of both buckets: (objects, bytes) of each.
    async fn count_both(&mut self) -> Result<((u64, u64), (u64, u64))> {
        let args = ["-o", "json", &self.src, &self.dst];
        let both = self
            .tools
            .run("s3-key-counter", &args, self.timeout)
            .await?;
        let source = counted(&both, &self.src)?;
        let dest = counted(&both, &self.dst)?;
        println!("    {}: {}", self.src, objects_bytes(source.0, source.1));
        println!("    {}: {}", self.dst, objects_bytes(dest.0, dest.1));
        self.rows.push(
            Row::new(
                "count both",
                "s3-key-counter",
                format!(
                    "{} / {}",
                    objects_bytes(source.0, source.1),
                    objects_bytes(dest.0, dest.1)
                ),
            )
            .took(both.elapsed, Some(source.0 + dest.0)),
        );
        Ok((source, dest))
    }

    /// 6. The summary; the problems found (none: complete and exact).
    pub(super) fn summary(mut self, end: &EndState, worker: &Run) -> Vec<String> {
        heading("6", "Summary");
        // The two that ran all along go last.
        self.rows.sort_by_key(|r| r.step.starts_with("live"));
        print!("{}", summary::render(&self.rows));
        let mut problems = end.problems();
        // Stopped by our SIGTERM, the worker finishes what it holds and exits
        // 130 ("interrupted"); 0 if it had already gone idle. Anything else is a failure.
        if !matches!(worker.code, 0 | INTERRUPTED) {
            problems.push(format!("s3-copier worker exited with code {}", worker.code));
        }
        if problems.is_empty() {
            println!(
                "\n    both buckets: {}; 0 missing, 0 different, 0 ACL drift",
                objects_bytes(end.dest.0, end.dest.1)
            );
        }
        problems
    }
}
