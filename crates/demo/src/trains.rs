//! The demo's trains, one in every state, each a story told over the months before today: closed last
//! quarter with its whole history, in production deployment tonight, awaiting executive approval, in
//! verification with a failed validation, in construction, in scoping, awaiting train approval, in
//! draft, and cancelled. Each story waits for its moments ([`Demo::at`]), so the stories interleave in
//! time as a company's trains do.

use std::future::Future;

use anyhow::Context as _;
use chrono::{Duration, Timelike, Utc};
use serde_json::{Value, json};

use super::{Demo, id};

/// How many stories [`all`] tells at once.
pub const STORIES: usize = 9;

/// Every demo train's approvals: max approves trains, dora development, carla (the CIO) production.
fn policies() -> Value {
    let one = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    json!({"train": one("max"), "development": one("dora"), "executive": one("carla")})
}

/// A story; whatever its outcome, the others go on without it afterwards.
async fn story(demo: &Demo, what: &'static str, f: impl Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let r = f.await;
    demo.timeline.done();
    r.context(what)
}

pub async fn all(demo: &Demo) -> anyhow::Result<()> {
    let results = tokio::join!(
        story(demo, "the closed train", closed_train(demo)),
        story(demo, "the train deploying tonight", tonight_train(demo)),
        story(demo, "the train in verification", failed_validation_train(demo)),
        story(demo, "the train awaiting executive approval", awaiting_executive_train(demo)),
        story(demo, "the train in construction", construction_train(demo)),
        story(demo, "the train in scoping", scoping_train(demo)),
        story(demo, "the train awaiting train approval", awaiting_train_approval(demo)),
        story(demo, "the train in draft", draft_train(demo)),
        story(demo, "the cancelled train", cancelled_train(demo)),
    );
    let (a, b, c, d, e, f, g, h, i) = results;
    for r in [a, b, c, d, e, f, g, h, i] {
        r?;
    }
    Ok(())
}

/// A train's id and its two milestones (code freeze, go-live).
struct TrainIds {
    id: String,
    code_freeze: String,
    go_live: String,
}

impl Demo {
    /// A train managed by rita whose stages start `offset` days from today, made now.
    async fn train(&self, title: &str, release_type: &str, offset: i64, purpose: &str) -> anyhow::Result<TrainIds> {
        let schedule = json!({"start": self.day(offset), "scoping_end": self.day(offset + 10),
            "construction_end": self.day(offset + 40), "verification_end": self.day(offset + 54),
            "production_date": self.day(offset + 60)});
        let body = json!({"title": title, "release_type": release_type, "purpose": purpose, "manager": "rita",
            "engineers": ["erin", "eli"], "schedule": schedule, "approval_policies": policies()});
        let t = id(&self.post("rita", "/api/v1/trains", body).await?)?;
        let path = format!("/api/v1/trains/{t}");
        let freeze = json!({"title": "Code freeze", "due": self.day(offset + 38), "inherit": true});
        self.post("rita", &format!("{path}/milestones"), freeze).await?;
        let live = json!({"title": "Go-live", "due": self.day(offset + 60), "owner": "erin"});
        let train = self.post("rita", &format!("{path}/milestones"), live).await?;
        let milestone = |title: &str| -> anyhow::Result<String> {
            train["milestones"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|m| m["title"] == title)
                .and_then(|m| m["id"].as_str())
                .map(str::to_string)
                .with_context(|| format!("the milestone {title} of {t}"))
        };
        let (code_freeze, go_live) = (milestone("Code freeze")?, milestone("Go-live")?);
        self.post(
            "rita",
            &format!("{path}/gates/scoping/criteria"),
            json!({"title": "Scope signed off", "owner": "rita"}),
        )
        .await?;
        Ok(TrainIds { id: t, code_freeze, go_live })
    }

    /// Submitted by rita on day `offset - 2`, approved by max the next day: scoping.
    async fn to_scoping(&self, train: &str, offset: i64) -> anyhow::Result<()> {
        self.at(offset - 2, 10, 0).await;
        let t = self.post("rita", &format!("/api/v1/trains/{train}/submit"), json!({})).await?;
        let ap = t["train_approval"]["id"].as_str().context("the train approval")?;
        self.at(offset - 1, 14, 30).await;
        self.post("max", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "dates agreed"})).await?;
        Ok(())
    }

    /// Application releases of the train, each `(application, owner)`, created by rita now (accepted at
    /// once); `depends` lists (dependent, dependency) by index.
    async fn releases(
        &self,
        train: &str,
        offset: i64,
        apps: &[(&str, &str)],
        depends: &[(usize, usize)],
    ) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::new();
        for (app, owner) in apps {
            let body = json!({"title": format!("{app} for {train}"), "application": app, "train": train,
                "product_owner": owner, "schedule": {"start": self.day(offset + 11), "end": self.day(offset + 39)}});
            ids.push(id(&self.post("rita", "/api/v1/application-releases", body).await?)?);
        }
        for (dependent, on) in depends {
            let (Some(a), Some(b)) = (ids.get(*dependent), ids.get(*on)) else { continue };
            self.post("rita", &format!("/api/v1/application-releases/{a}/dependencies"), json!({"depends_on": b}))
                .await?;
        }
        Ok(ids)
    }

    /// At the end of scoping (day `offset + 10`): scope signed off, construction started; each release
    /// begins work with two done work items.
    async fn to_construction(
        &self,
        train: &str,
        offset: i64,
        releases: &[String],
        owners: &[&str],
    ) -> anyhow::Result<()> {
        self.at(offset + 10, 9, 15).await;
        let t = self.get("rita", &format!("/api/v1/trains/{train}")).await?;
        for c in t["gates"]["scoping"]["criteria"].as_array().into_iter().flatten() {
            let cid = c["id"].as_str().unwrap_or_default();
            let body = json!({"evidence": {"note": "scope reviewed with the product owners"}});
            self.post("rita", &format!("/api/v1/trains/{train}/criteria/{cid}/meet"), body).await?;
        }
        self.post("rita", &format!("/api/v1/trains/{train}/start-construction"), json!({})).await?;
        self.at(offset + 11, 9, 30).await;
        for (r, owner) in releases.iter().zip(owners) {
            self.post(owner, &format!("/api/v1/application-releases/{r}/begin-work"), json!({})).await?;
            let key = r.replace('-', "");
            for (i, kind) in ["business_request", "development_task"].iter().enumerate() {
                let body = json!({"key": format!("{key}-{}", i + 1), "title": format!("{} {}", kind.replace('_', " "), i + 1),
                    "kind": kind, "status": "done", "source": "jira"});
                self.post(owner, &format!("/api/v1/application-releases/{r}/work-items"), body).await?;
            }
        }
        Ok(())
    }

    /// A turnover of the release with database, app and web tasks, a manual sign-off in staging and a
    /// rollback task, its work items linked, made now. Its id.
    async fn turnover(&self, release: &str, app: &str) -> anyhow::Result<String> {
        let lower = app.to_lowercase();
        let body = json!({"title": format!("{app} build 1.{}", release.len()), "release": release, "path": self.path,
            "artifacts": [{"name": lower, "version": format!("1.{}.0", release.len())}]});
        let to = id(&self.post("dan", "/api/v1/turnovers", body).await?)?;
        let sh = |text: String| json!({"kind": "command", "program": "/bin/sh", "args": ["-c", format!("echo '{text}'")], "timeout_secs": 60});
        let tasks = [
            json!({"title": format!("Migrate {lower} schema"), "sequence": 1, "tier": "database", "action": sh(format!("migrating {lower}"))}),
            json!({"title": format!("Deploy {lower} service"), "sequence": 2, "tier": "app", "action": sh(format!("deploying {lower}"))}),
            json!({"title": "Smoke test", "sequence": 3, "tier": "web", "action": sh("smoke test passed".into())}),
            json!({"title": "Business sign-off", "sequence": 4, "owner": "erin", "environments": ["staging"]}),
            json!({"title": format!("Restore {lower} snapshot"), "sequence": 1, "tier": "database", "rollback": true, "action": sh(format!("restoring {lower}"))}),
        ];
        for t in tasks {
            self.post("dan", &format!("/api/v1/turnovers/{to}/tasks"), t).await?;
        }
        let items = self.get("dan", &format!("/api/v1/application-releases/{release}/work-items")).await?;
        let ids: Vec<&str> = items["items"].as_array().into_iter().flatten().filter_map(|w| w["id"].as_str()).collect();
        if !ids.is_empty() {
            self.post("dan", &format!("/api/v1/turnovers/{to}/work-items"), json!({"work_items": ids})).await?;
        }
        Ok(to)
    }

    /// The turnover deployed into its next stage (dev skipped) at day `day` 10:00 and validated by erin
    /// at 16:00 (failed with `fail` as the note when given).
    async fn deploy_stage(&self, to: &str, stage: &str, day: i64, fail: Option<&str>) -> anyhow::Result<()> {
        self.at(day, 10, 0).await;
        let d = id(&self.post("erin", &format!("/api/v1/turnovers/{to}/deploy"), json!({"skip": ["dev"]})).await?)?;
        let done = self.settle(&d).await?;
        anyhow::ensure!(done["state"] == "succeeded", "deployment {d} of {to} into {stage} ended {}", done["state"]);
        self.at(day, 16, 0).await;
        let verdict = match fail {
            Some(note) => json!({"passed": false, "note": note}),
            None => json!({"passed": true, "note": format!("{stage} checks passed")}),
        };
        self.post("erin", &format!("/api/v1/deployments/{d}/validate"), verdict).await?;
        Ok(())
    }

    /// Development approval requested by the release's owner on `day`, granted by dora the next morning.
    async fn development_approved(&self, release: &str, owner: &str, day: i64) -> anyhow::Result<()> {
        self.at(day, 11, 0).await;
        let path = format!("/api/v1/application-releases/{release}/request-development-approval");
        let r = self.post(owner, &path, json!({})).await?;
        let ap = r["development_approval"]["id"].as_str().context("the development approval")?;
        self.at(day + 1, 9, 0).await;
        self.post("dora", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "code reviewed"})).await?;
        Ok(())
    }

    /// A milestone of the train completed by `who` on `day`.
    async fn complete(&self, who: &str, train: &str, milestone: &str, day: i64) -> anyhow::Result<()> {
        self.at(day, 17, 0).await;
        self.post(who, &format!("/api/v1/trains/{train}/milestones/{milestone}/complete"), json!({})).await?;
        Ok(())
    }

    /// A train taken from its start `offset` days from today through construction to verification: its
    /// releases with turnovers through test and staging, development-approved, the code freeze kept.
    /// The releases and their turnovers.
    async fn to_verification(
        &self,
        train: &TrainIds,
        offset: i64,
        apps: &[(&str, &str)],
        depends: &[(usize, usize)],
        failing: Option<(usize, &str)>,
    ) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let t = &train.id;
        self.at(offset - 3, 9, 0).await;
        let releases = self.releases(t, offset, apps, depends).await?;
        self.to_scoping(t, offset).await?;
        let owners: Vec<&str> = apps.iter().map(|(_, o)| *o).collect();
        self.to_construction(t, offset, &releases, &owners).await?;
        let mut turnovers = Vec::new();
        for (i, (r, (app, _))) in releases.iter().zip(apps).enumerate() {
            let day = offset + 18 + 2 * i as i64;
            self.at(day, 9, 0).await;
            let to = self.turnover(r, app).await?;
            self.deploy_stage(&to, "test", day, None).await?;
            turnovers.push(to);
        }
        for (i, to) in turnovers.iter().enumerate() {
            let fail = failing.filter(|(f, _)| *f == i).map(|(_, note)| note);
            self.deploy_stage(to, "staging", offset + 25 + 2 * i as i64, fail).await?;
        }
        for (i, (r, (_, owner))) in releases.iter().zip(apps).enumerate() {
            self.development_approved(r, owner, offset + 33 + i as i64).await?;
        }
        self.complete("rita", t, &train.code_freeze, offset + 38).await?;
        // Each release's copy of the code freeze, kept by its product owner.
        for (r, (_, owner)) in releases.iter().zip(apps) {
            let release = self.get(owner, &format!("/api/v1/application-releases/{r}")).await?;
            let copies = release["milestones"].as_array().into_iter().flatten();
            for m in copies.filter(|m| m["inherited_from"] == train.code_freeze.as_str()) {
                let mid = m["id"].as_str().unwrap_or_default();
                self.post(owner, &format!("/api/v1/application-releases/{r}/milestones/{mid}/complete"), json!({}))
                    .await?;
            }
        }
        self.at(offset + 40, 9, 0).await;
        self.post("rita", &format!("/api/v1/trains/{t}/start-verification"), json!({})).await?;
        Ok((releases, turnovers))
    }

    /// Executive approval requested by rita on `day` and granted by carla the day after: deployment.
    async fn executive_approved(&self, train: &str, day: i64) -> anyhow::Result<()> {
        self.at(day, 10, 0).await;
        let t = self.post("rita", &format!("/api/v1/trains/{train}/request-executive-approval"), json!({})).await?;
        let ap = t["executive_approval"]["id"].as_str().context("the executive approval")?;
        self.at(day + 1, 15, 0).await;
        self.post("carla", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "go"})).await?;
        Ok(())
    }

    /// A production-ready turnover of `releases` from the first pre-production turnover, the others'
    /// tasks copied in, ordered by the proposal, delivered by erin on `day` and accepted by eli that
    /// afternoon.
    async fn production_turnover(
        &self,
        title: &str,
        releases: &[&String],
        from: &[&String],
        environments: &[&str],
        day: i64,
    ) -> anyhow::Result<String> {
        self.at(day, 10, 0).await;
        let body = json!({"title": title, "releases": releases, "environments": environments, "from": from.first()});
        let to = id(&self.post("erin", "/api/v1/production-turnovers", body).await?)?;
        if from.len() > 1 {
            self.post("erin", &format!("/api/v1/turnovers/{to}/tasks/copy"), json!({"from": &from[1..]})).await?;
        }
        let p = self.get("erin", &format!("/api/v1/turnovers/{to}/proposed-order")).await?;
        self.post("erin", &format!("/api/v1/turnovers/{to}/tasks/reorder"), json!({"order": p["order"]})).await?;
        self.post("erin", &format!("/api/v1/turnovers/{to}/deliver"), json!({})).await?;
        self.at(day, 15, 0).await;
        self.post("eli", &format!("/api/v1/turnovers/{to}/accept"), json!({})).await?;
        Ok(to)
    }
}

/// Summer: the whole flow, closed last quarter. Started six months ago, it went live in prod-eu at
/// 21:00 on its production date (the engine started the deployment at its scheduled time), was verified
/// the next morning and closed the day after.
async fn closed_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -180;
    demo.at(o - 7, 9, 30).await;
    let t = demo.train("2026.08 Summer release", "major", o, "Wallet payments and single sign-on").await?;
    let (releases, turnovers) =
        demo.to_verification(&t, o, &[("PAY", "paula"), ("AUTH", "paula")], &[(0, 1)], None).await?;
    demo.executive_approved(&t.id, o + 54).await?;
    let to = demo
        .production_turnover(
            "Summer go-live",
            &[&releases[0], &releases[1]],
            &[&turnovers[1], &turnovers[0]],
            &["prod-eu"],
            o + 57,
        )
        .await?;
    demo.at(o + 58, 11, 0).await;
    let at = demo.moment(o + 60, 21, 0).to_rfc3339();
    let body = json!({"environment": "prod-eu", "at": at, "window_minutes": 90});
    let d = id(&demo.post("erin", &format!("/api/v1/turnovers/{to}/schedule"), body).await?)?;
    demo.at(o + 60, 21, 0).await;
    let done = demo.settle(&d).await?;
    anyhow::ensure!(done["state"] == "succeeded", "the Summer go-live ended {}", done["state"]);
    demo.at(o + 61, 8, 30).await;
    demo.post("eli", &format!("/api/v1/turnovers/{to}/verify"), json!({"passed": true, "note": "payments flowing"}))
        .await?;
    demo.complete("erin", &t.id, &t.go_live, o + 61).await?;
    demo.at(o + 62, 10, 0).await;
    demo.post("rita", &format!("/api/v1/trains/{}/close", t.id), json!({})).await?;
    Ok(())
}

/// Autumn: approved for production; two production-ready turnovers scheduled for tonight at 21:00 UTC
/// (or in two hours when that has passed), cart and checkout across both regions, web in prod-eu.
async fn tonight_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -60;
    demo.at(o - 7, 10, 0).await;
    let t = demo.train("2026.11 Autumn release", "minor", o, "Faster checkout for the holiday season").await?;
    let apps = [("CART", "paula"), ("CHECKOUT", "paula"), ("WEB", "paula")];
    let (r, to) = demo.to_verification(&t, o, &apps, &[(1, 0), (2, 1)], None).await?;
    demo.executive_approved(&t.id, -6).await?;
    let both = demo
        .production_turnover(
            "Autumn night: cart and checkout",
            &[&r[0], &r[1]],
            &[&to[0], &to[1]],
            &["prod-eu", "prod-us"],
            -3,
        )
        .await?;
    let web = demo.production_turnover("Autumn night: storefront", &[&r[2]], &[&to[2]], &["prod-eu"], -3).await?;
    demo.at(-2, 11, 0).await;
    let now = Utc::now();
    let nine = now.date_naive().and_hms_opt(21, 0, 0).map(|t| t.and_utc()).unwrap_or(now);
    let at = if nine > now + Duration::minutes(30) {
        nine
    } else {
        now + Duration::hours(2) - Duration::seconds(now.second().into())
    };
    for (to, env) in [(&both, "prod-eu"), (&both, "prod-us"), (&web, "prod-eu")] {
        let body = json!({"environment": env, "at": at.to_rfc3339(), "window_minutes": 90});
        demo.post("erin", &format!("/api/v1/turnovers/{to}/schedule"), body).await?;
    }
    Ok(())
}

/// Winter: in verification since five days; search failed validation in staging.
async fn failed_validation_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -45;
    demo.at(o - 7, 11, 0).await;
    let t = demo.train("2026.12 Winter patch", "patch", o, "Search relevance and catalog fixes").await?;
    let apps = [("SEARCH", "pete"), ("CATALOG", "pete")];
    demo.to_verification(&t, o, &apps, &[(0, 1)], Some((0, "no results for accented queries (INC-311)"))).await?;
    Ok(())
}

/// New Year: verified, awaiting carla's executive approval since yesterday.
async fn awaiting_executive_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -50;
    demo.at(o - 7, 11, 30).await;
    let t = demo.train("2027.01 New Year release", "major", o, "Order tracking and live stock").await?;
    demo.to_verification(&t, o, &[("ORDERS", "pete"), ("STOCK", "pete")], &[(0, 1)], None).await?;
    demo.at(-1, 10, 0).await;
    demo.post("rita", &format!("/api/v1/trains/{}/request-executive-approval", t.id), json!({})).await?;
    Ok(())
}

/// Logistics: in construction since ten days, with a turnover being assembled.
async fn construction_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -20;
    demo.at(o - 7, 14, 0).await;
    let t = demo.train("2027.02 Logistics", "minor", o, "Carrier choice and delivery notifications").await?;
    let apps = [("SHIP", "pete"), ("NOTIFY", "pete")];
    demo.at(o - 3, 9, 0).await;
    let r = demo.releases(&t.id, o, &apps, &[(1, 0)]).await?;
    demo.to_scoping(&t.id, o).await?;
    demo.to_construction(&t.id, o, &r, &["pete", "pete"]).await?;
    demo.at(-3, 13, 0).await;
    let body = json!({"title": "SHIP build 0.9", "release": r[0], "path": demo.path});
    let to = id(&demo.post("dan", "/api/v1/turnovers", body).await?)?;
    let task = json!({"title": "Migrate ship schema", "sequence": 1, "tier": "database", "owner": "dan"});
    demo.post("dan", &format!("/api/v1/turnovers/{to}/tasks"), task).await?;
    Ok(())
}

/// Mobile: in scoping, its criteria open.
async fn scoping_train(demo: &Demo) -> anyhow::Result<()> {
    let o = -5;
    demo.at(o - 7, 15, 0).await;
    let t = demo.train("2027.03 Mobile", "minor", o, "A new mobile backend").await?;
    let crit = json!({"title": "Capacity confirmed", "owner": "erin"});
    demo.post("rita", &format!("/api/v1/trains/{}/gates/scoping/criteria", t.id), crit).await?;
    demo.at(o - 3, 9, 0).await;
    demo.releases(&t.id, o, &[("MOBILE", "paula")], &[]).await?;
    demo.to_scoping(&t.id, o).await
}

/// Spring: submitted yesterday, awaiting max's train approval.
async fn awaiting_train_approval(demo: &Demo) -> anyhow::Result<()> {
    demo.at(-3, 16, 0).await;
    let t = demo.train("2027.04 Spring release", "major", 10, "Loyalty programme").await?;
    demo.at(-1, 16, 0).await;
    demo.post("rita", &format!("/api/v1/trains/{}/submit", t.id), json!({})).await?;
    Ok(())
}

/// Platform upgrade: a draft from two days ago.
async fn draft_train(demo: &Demo) -> anyhow::Result<()> {
    demo.at(-2, 10, 30).await;
    demo.train("2027.05 Platform upgrade", "major", 40, "Runtime and database upgrades").await?;
    Ok(())
}

/// Emergency fix: planned in September, cancelled three days later.
async fn cancelled_train(demo: &Demo) -> anyhow::Result<()> {
    demo.at(-92, 8, 0).await;
    let t = demo.train("2026.10 Emergency fix", "emergency", -90, "Card tokenisation hotfix").await?;
    demo.at(-89, 12, 0).await;
    demo.post(
        "rita",
        &format!("/api/v1/trains/{}/cancel", t.id),
        json!({"reason": "shipped as a patch of the Autumn release instead"}),
    )
    .await?;
    Ok(())
}
