//! The demo's trains, one in every state: closed with its full history, in production deployment
//! tonight, awaiting executive approval, in verification with a failed validation, in construction, in
//! scoping, awaiting train approval, in draft, and cancelled.

use anyhow::Context as _;
use chrono::{Duration, Timelike, Utc};
use serde_json::{Value, json};

use super::{Demo, id};

/// Every demo train's approvals: max approves trains, dora development, carla (the CIO) production.
fn policies() -> Value {
    let one = |who: &str| json!({"levels": [{"approvers": [who], "required": 1}]});
    json!({"train": one("max"), "development": one("dora"), "executive": one("carla")})
}

pub async fn all(demo: &Demo) -> anyhow::Result<()> {
    let (closed, tonight, verification, executive, construction) = tokio::join!(
        closed_train(demo),
        tonight_train(demo),
        failed_validation_train(demo),
        awaiting_executive_train(demo),
        construction_train(demo),
    );
    closed.context("the closed train")?;
    tonight.context("the train deploying tonight")?;
    verification.context("the train in verification")?;
    executive.context("the train awaiting executive approval")?;
    construction.context("the train in construction")?;
    early_trains(demo).await.context("the trains in scoping, approval, draft and the cancelled one")
}

impl Demo {
    /// A train managed by rita whose stages start `offset` days from today.
    async fn train(&self, title: &str, release_type: &str, offset: i64, purpose: &str) -> anyhow::Result<String> {
        let schedule = json!({"start": self.day(offset), "scoping_end": self.day(offset + 10),
            "construction_end": self.day(offset + 40), "verification_end": self.day(offset + 54),
            "production_date": self.day(offset + 60)});
        let body = json!({"title": title, "release_type": release_type, "purpose": purpose, "manager": "rita",
            "engineers": ["erin", "eli"], "schedule": schedule, "approval_policies": policies()});
        let t = id(&self.post("rita", "/api/v1/trains", body).await?)?;
        let path = format!("/api/v1/trains/{t}");
        self.post(
            "rita",
            &format!("{path}/milestones"),
            json!({"title": "Code freeze", "due": self.day(offset + 38), "inherit": true}),
        )
        .await?;
        self.post(
            "rita",
            &format!("{path}/milestones"),
            json!({"title": "Go-live", "due": self.day(offset + 60), "owner": "erin"}),
        )
        .await?;
        self.post(
            "rita",
            &format!("{path}/gates/scoping/criteria"),
            json!({"title": "Scope signed off", "owner": "rita"}),
        )
        .await?;
        Ok(t)
    }

    /// Submitted and approved by max: scoping.
    async fn to_scoping(&self, train: &str) -> anyhow::Result<()> {
        let t = self.post("rita", &format!("/api/v1/trains/{train}/submit"), json!({})).await?;
        let ap = t["train_approval"]["id"].as_str().context("the train approval")?;
        self.post("max", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "dates agreed"})).await?;
        Ok(())
    }

    /// Application releases of the train, each `(application, owner)`, created by rita (accepted at once);
    /// `depends` lists (dependent, dependency) by index.
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

    /// Scope signed off, construction started; each release begins work with two done work items.
    async fn to_construction(&self, train: &str, releases: &[String], owners: &[&str]) -> anyhow::Result<()> {
        let t = self.get("rita", &format!("/api/v1/trains/{train}")).await?;
        for c in t["gates"]["scoping"]["criteria"].as_array().into_iter().flatten() {
            let cid = c["id"].as_str().unwrap_or_default();
            let body = json!({"evidence": {"note": "scope reviewed with the product owners"}});
            self.post("rita", &format!("/api/v1/trains/{train}/criteria/{cid}/meet"), body).await?;
        }
        self.post("rita", &format!("/api/v1/trains/{train}/start-construction"), json!({})).await?;
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
    /// rollback task, its work items linked; deployed through test and staging (dev skipped), each
    /// deployment validated (staging fails with `fail` as the note when given). The turnover's id.
    async fn pre_production(&self, release: &str, app: &str, fail: Option<&str>) -> anyhow::Result<String> {
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
        for stage in ["test", "staging"] {
            let d =
                id(&self.post("erin", &format!("/api/v1/turnovers/{to}/deploy"), json!({"skip": ["dev"]})).await?)?;
            let done = self.settle(&d).await?;
            anyhow::ensure!(
                done["state"] == "succeeded",
                "deployment {d} of {to} into {stage} ended {}",
                done["state"]
            );
            let verdict = match fail.filter(|_| stage == "staging") {
                Some(note) => json!({"passed": false, "note": note}),
                None => json!({"passed": true, "note": format!("{stage} checks passed")}),
            };
            self.post("erin", &format!("/api/v1/deployments/{d}/validate"), verdict).await?;
        }
        Ok(to)
    }

    /// Development approval requested by the release's owner, granted by dora.
    async fn development_approved(&self, release: &str, owner: &str) -> anyhow::Result<()> {
        let path = format!("/api/v1/application-releases/{release}/request-development-approval");
        let r = self.post(owner, &path, json!({})).await?;
        let ap = r["development_approval"]["id"].as_str().context("the development approval")?;
        self.post("dora", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "code reviewed"})).await?;
        Ok(())
    }

    /// A train taken through construction to verification: its releases with turnovers through test and
    /// staging and development-approved. The releases and their turnovers.
    async fn to_verification(
        &self,
        train: &str,
        offset: i64,
        apps: &[(&str, &str)],
        depends: &[(usize, usize)],
        failing: Option<(usize, &str)>,
    ) -> anyhow::Result<(Vec<String>, Vec<String>)> {
        let releases = self.releases(train, offset, apps, depends).await?;
        self.to_scoping(train).await?;
        let owners: Vec<&str> = apps.iter().map(|(_, o)| *o).collect();
        self.to_construction(train, &releases, &owners).await?;
        let mut turnovers = Vec::new();
        for (i, (r, (app, owner))) in releases.iter().zip(apps).enumerate() {
            let fail = failing.filter(|(f, _)| *f == i).map(|(_, note)| note);
            turnovers.push(self.pre_production(r, app, fail).await?);
            self.development_approved(r, owner).await?;
        }
        self.post("rita", &format!("/api/v1/trains/{train}/start-verification"), json!({})).await?;
        Ok((releases, turnovers))
    }

    /// Executive approval requested by rita and granted by carla: the train is in deployment.
    async fn executive_approved(&self, train: &str) -> anyhow::Result<()> {
        let t = self.post("rita", &format!("/api/v1/trains/{train}/request-executive-approval"), json!({})).await?;
        let ap = t["executive_approval"]["id"].as_str().context("the executive approval")?;
        self.post("carla", &format!("/api/v1/approvals/{ap}/approve"), json!({"comment": "go"})).await?;
        Ok(())
    }

    /// A production-ready turnover of `releases` from the first pre-production turnover, the others'
    /// tasks copied in, ordered by the proposal, delivered by erin and accepted by eli.
    async fn production_turnover(
        &self,
        title: &str,
        releases: &[&String],
        from: &[&String],
        environments: &[&str],
    ) -> anyhow::Result<String> {
        let body = json!({"title": title, "releases": releases, "environments": environments, "from": from.first()});
        let to = id(&self.post("erin", "/api/v1/production-turnovers", body).await?)?;
        if from.len() > 1 {
            self.post("erin", &format!("/api/v1/turnovers/{to}/tasks/copy"), json!({"from": &from[1..]})).await?;
        }
        let p = self.get("erin", &format!("/api/v1/turnovers/{to}/proposed-order")).await?;
        self.post("erin", &format!("/api/v1/turnovers/{to}/tasks/reorder"), json!({"order": p["order"]})).await?;
        self.post("erin", &format!("/api/v1/turnovers/{to}/deliver"), json!({})).await?;
        self.post("eli", &format!("/api/v1/turnovers/{to}/accept"), json!({})).await?;
        Ok(to)
    }
}

/// Summer: the whole flow, deployed into prod-eu while loading (scheduled ten minutes ahead and started
/// early by the train's manager with a reason, so no busy machine can make the load miss its time),
/// verified and closed.
async fn closed_train(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2026.08 Summer release", "major", -120, "Wallet payments and single sign-on").await?;
    let (releases, turnovers) =
        demo.to_verification(&t, -120, &[("PAY", "paula"), ("AUTH", "paula")], &[(0, 1)], None).await?;
    demo.executive_approved(&t).await?;
    let to = demo
        .production_turnover(
            "Summer go-live",
            &[&releases[0], &releases[1]],
            &[&turnovers[1], &turnovers[0]],
            &["prod-eu"],
        )
        .await?;
    let at = (Utc::now() + Duration::minutes(10)).to_rfc3339();
    let d = id(&demo
        .post("erin", &format!("/api/v1/turnovers/{to}/schedule"), json!({"environment": "prod-eu", "at": at}))
        .await?)?;
    let early = json!({"override": true, "reason": "the change board moved the go-live forward"});
    demo.post("rita", &format!("/api/v1/deployments/{d}/start"), early).await?;
    let done = demo.settle(&d).await?;
    anyhow::ensure!(done["state"] == "succeeded", "the Summer go-live ended {}", done["state"]);
    demo.post("eli", &format!("/api/v1/turnovers/{to}/verify"), json!({"passed": true, "note": "payments flowing"}))
        .await?;
    demo.post("rita", &format!("/api/v1/trains/{t}/close"), json!({})).await?;
    Ok(())
}

/// Autumn: approved for production; two production-ready turnovers scheduled for tonight at 21:00 UTC
/// (or in two hours when that has passed), cart and checkout across both regions, web in prod-eu.
async fn tonight_train(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2026.11 Autumn release", "minor", -60, "Faster checkout for the holiday season").await?;
    let apps = [("CART", "paula"), ("CHECKOUT", "paula"), ("WEB", "paula")];
    let (r, to) = demo.to_verification(&t, -60, &apps, &[(1, 0), (2, 1)], None).await?;
    demo.executive_approved(&t).await?;
    let both = demo
        .production_turnover(
            "Autumn night: cart and checkout",
            &[&r[0], &r[1]],
            &[&to[0], &to[1]],
            &["prod-eu", "prod-us"],
        )
        .await?;
    let web = demo.production_turnover("Autumn night: storefront", &[&r[2]], &[&to[2]], &["prod-eu"]).await?;
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

/// Winter: in verification; search failed validation in staging.
async fn failed_validation_train(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2026.12 Winter patch", "patch", -45, "Search relevance and catalog fixes").await?;
    let apps = [("SEARCH", "pete"), ("CATALOG", "pete")];
    demo.to_verification(&t, -45, &apps, &[(0, 1)], Some((0, "no results for accented queries (INC-311)"))).await?;
    Ok(())
}

/// New Year: verified, awaiting carla's executive approval.
async fn awaiting_executive_train(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2027.01 New Year release", "major", -50, "Order tracking and live stock").await?;
    demo.to_verification(&t, -50, &[("ORDERS", "pete"), ("STOCK", "pete")], &[(0, 1)], None).await?;
    demo.post("rita", &format!("/api/v1/trains/{t}/request-executive-approval"), json!({})).await?;
    Ok(())
}

/// Logistics: in construction, with a turnover being assembled.
async fn construction_train(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2027.02 Logistics", "minor", -20, "Carrier choice and delivery notifications").await?;
    let apps = [("SHIP", "pete"), ("NOTIFY", "pete")];
    let r = demo.releases(&t, -20, &apps, &[(1, 0)]).await?;
    demo.to_scoping(&t).await?;
    demo.to_construction(&t, &r, &["pete", "pete"]).await?;
    let body = json!({"title": "SHIP build 0.9", "release": r[0], "path": demo.path});
    let to = id(&demo.post("dan", "/api/v1/turnovers", body).await?)?;
    let task = json!({"title": "Migrate ship schema", "sequence": 1, "tier": "database", "owner": "dan"});
    demo.post("dan", &format!("/api/v1/turnovers/{to}/tasks"), task).await?;
    Ok(())
}

/// Mobile in scoping (its criteria open), Spring awaiting train approval, a platform upgrade in draft,
/// and an emergency fix cancelled.
async fn early_trains(demo: &Demo) -> anyhow::Result<()> {
    let t = demo.train("2027.03 Mobile", "minor", -5, "A new mobile backend").await?;
    let crit = json!({"title": "Capacity confirmed", "owner": "erin"});
    demo.post("rita", &format!("/api/v1/trains/{t}/gates/scoping/criteria"), crit).await?;
    demo.releases(&t, -5, &[("MOBILE", "paula")], &[]).await?;
    demo.to_scoping(&t).await?;
    let t = demo.train("2027.04 Spring release", "major", 10, "Loyalty programme").await?;
    demo.post("rita", &format!("/api/v1/trains/{t}/submit"), json!({})).await?;
    demo.train("2027.05 Platform upgrade", "major", 40, "Runtime and database upgrades").await?;
    let t = demo.train("2026.10 Emergency fix", "emergency", -30, "Card tokenisation hotfix").await?;
    demo.post(
        "rita",
        &format!("/api/v1/trains/{t}/cancel"),
        json!({"reason": "shipped as a patch of the Summer release instead"}),
    )
    .await?;
    Ok(())
}
