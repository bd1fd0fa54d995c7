//! The stack configuration file (TOML). Every threshold defaults to the
//! values of the Mind Candy write-up the tool comes from ("Cutting the AWS
//! bill with spot instances"), so an empty `[on_demand]` / `[spot]` section
//! gives that stack.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Why a configuration file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
}

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StackConfig {
    /// Free text for the template's Description.
    pub description: String,
    /// Prefix for the Name tag of instances (default: the stack name).
    pub name: Option<String>,
    pub instances: Instances,
    pub on_demand: GroupPolicy,
    pub spot: SpotPolicy,
    pub mixed: MixedPolicy,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            description: "App tier on spot instances with on-demand fallback (spot-stack)".into(),
            name: None,
            instances: Instances::default(),
            on_demand: GroupPolicy::seed_on_demand(),
            spot: SpotPolicy::default(),
            mixed: MixedPolicy::default(),
        }
    }
}

/// What to launch and where.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Instances {
    /// AMI id (`ami-...`) or a CloudFormation dynamic reference
    /// (`{{resolve:ssm:/aws/service/ami-amazon-linux-latest/...}}`).
    pub ami: String,
    /// Instance types. The two-group strategy launches the first; the mixed
    /// strategy uses all of them as overrides.
    pub instance_types: Vec<String>,
    /// Subnets (one per availability zone you want to use).
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub key_name: Option<String>,
    /// Instance profile name or ARN.
    pub instance_profile: Option<String>,
    /// Inline user data (a shell script or cloud-init document).
    pub user_data: Option<String>,
    /// User data read from a file, relative to the config file.
    pub user_data_file: Option<PathBuf>,
    /// Load balancer target group ARNs both groups register with.
    pub target_groups: Vec<String>,
    /// Seconds from launch to serving (bake AMIs: the write-up got 75 s).
    /// Used as the health check grace period and by `simulate`.
    pub boot_seconds: u32,
}

impl Default for Instances {
    fn default() -> Self {
        Self {
            ami: String::new(),
            instance_types: vec!["c5.large".into()],
            subnets: Vec::new(),
            security_groups: Vec::new(),
            key_name: None,
            instance_profile: None,
            user_data: None,
            user_data_file: None,
            target_groups: Vec::new(),
            boot_seconds: 75,
        }
    }
}

/// One CPU alarm and the simple scaling policy it triggers.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Average CPU, percent.
    pub threshold: f64,
    /// Instances added (scale up) or removed (scale down).
    pub adjustment: u32,
    /// Seconds the group waits after this activity before the next one.
    pub cooldown: u32,
}

/// Size and scaling of one auto scaling group.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupPolicy {
    pub min: u32,
    pub max: u32,
    /// Seconds per CloudWatch period (10, 30 or a multiple of 60).
    pub period: u32,
    /// Consecutive breaching periods before the alarm fires.
    pub evaluation_periods: u32,
    pub scale_up: Step,
    pub scale_down: Step,
}

impl GroupPolicy {
    /// On-demand: min 1, +2 when CPU > 80% for 5 minutes, -1 when < 65% for
    /// 5 minutes, at most one scale-down per 15 minutes.
    pub fn seed_on_demand() -> Self {
        Self {
            min: 1,
            max: 12,
            period: 300,
            evaluation_periods: 1,
            scale_up: Step {
                threshold: 80.0,
                adjustment: 2,
                cooldown: 300,
            },
            scale_down: Step {
                threshold: 65.0,
                adjustment: 1,
                cooldown: 900,
            },
        }
    }

    /// Spot: min 1, +2 when CPU > 50%, -1 below 30%. (The write-up gives no
    /// cooldowns for spot; the group default of 300 s is used.)
    pub fn seed_spot() -> Self {
        Self {
            min: 1,
            max: 12,
            period: 300,
            evaluation_periods: 1,
            scale_up: Step {
                threshold: 50.0,
                adjustment: 2,
                cooldown: 300,
            },
            scale_down: Step {
                threshold: 30.0,
                adjustment: 1,
                cooldown: 300,
            },
        }
    }
}

impl Default for GroupPolicy {
    fn default() -> Self {
        Self::seed_on_demand()
    }
}

/// The spot group: a [`GroupPolicy`] and the maximum price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SpotPolicy {
    #[serde(flatten)]
    pub group: GroupPolicy,
    /// USD per instance-hour. Unset (the default, as AWS advises) caps the
    /// price at the on-demand price, which is what the write-up's "bid price
    /// = on-demand price" did.
    pub max_price: Option<f64>,
}

impl Default for SpotPolicy {
    fn default() -> Self {
        Self {
            group: GroupPolicy::seed_spot(),
            max_price: None,
        }
    }
}

// serde's `default` on a flattened struct needs the fields' defaults to be
// the spot ones, so deserialize through a shadow with per-field defaults.
impl SpotPolicy {
    fn from_shadow(s: SpotShadow) -> Self {
        let d = GroupPolicy::seed_spot();
        Self {
            group: GroupPolicy {
                min: s.min.unwrap_or(d.min),
                max: s.max.unwrap_or(d.max),
                period: s.period.unwrap_or(d.period),
                evaluation_periods: s.evaluation_periods.unwrap_or(d.evaluation_periods),
                scale_up: s.scale_up.unwrap_or(d.scale_up),
                scale_down: s.scale_down.unwrap_or(d.scale_down),
            },
            max_price: s.max_price,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpotShadow {
    min: Option<u32>,
    max: Option<u32>,
    period: Option<u32>,
    evaluation_periods: Option<u32>,
    scale_up: Option<Step>,
    scale_down: Option<Step>,
    max_price: Option<f64>,
}

/// `--strategy mixed`: one group, on-demand base capacity, spot above it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixedPolicy {
    /// Default: on_demand.min + spot.min.
    pub min: Option<u32>,
    /// Default: on_demand.max + spot.max.
    pub max: Option<u32>,
    /// On-demand instances always kept (the write-up's "min 1 on-demand").
    pub on_demand_base: u32,
    /// Percent of capacity above the base that is on-demand.
    pub on_demand_percentage_above_base: u32,
    pub spot_allocation_strategy: String,
    pub capacity_rebalance: bool,
    /// Target average CPU for the target tracking policy (between the spot
    /// group's scale-down and scale-up thresholds).
    pub target_cpu: f64,
}

impl Default for MixedPolicy {
    fn default() -> Self {
        Self {
            min: None,
            max: None,
            on_demand_base: 1,
            on_demand_percentage_above_base: 0,
            spot_allocation_strategy: "price-capacity-optimized".into(),
            capacity_rebalance: true,
            target_cpu: 40.0,
        }
    }
}

/// The raw file shape (so `[spot]` gets the spot defaults field by field).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    description: Option<String>,
    name: Option<String>,
    #[serde(default)]
    instances: Instances,
    #[serde(default)]
    on_demand: GroupPolicy,
    spot: Option<SpotShadow>,
    #[serde(default)]
    mixed: MixedPolicy,
}

impl StackConfig {
    /// Parses TOML text; `path` is used in messages and to resolve
    /// `user_data_file`.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: one_line(&e),
        })?;
        let mut config = StackConfig {
            description: raw
                .description
                .unwrap_or_else(|| StackConfig::default().description),
            name: raw.name,
            instances: raw.instances,
            on_demand: raw.on_demand,
            spot: raw.spot.map(SpotPolicy::from_shadow).unwrap_or_default(),
            mixed: raw.mixed,
        };
        if let Some(file) = config.instances.user_data_file.take() {
            let file = match path.parent() {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file,
            };
            let text = std::fs::read_to_string(&file).map_err(|source| ConfigError::Read {
                path: file.clone(),
                source,
            })?;
            config.instances.user_data = Some(text);
        }
        Ok(config)
    }

    /// Reads and parses a file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// The instance type of the two-group strategy.
    pub fn primary_type(&self) -> &str {
        self.instances
            .instance_types
            .first()
            .map_or("", String::as_str)
    }

    /// Mixed group size (defaults derived from the two groups).
    pub fn mixed_bounds(&self) -> (u32, u32) {
        (
            self.mixed
                .min
                .unwrap_or(self.on_demand.min.saturating_add(self.spot.group.min)),
            self.mixed
                .max
                .unwrap_or(self.on_demand.max.saturating_add(self.spot.group.max)),
        )
    }
}

fn one_line(e: &toml::de::Error) -> String {
    let msg = e.message().trim().to_string();
    match e.span() {
        Some(span) => format!("{msg} (at byte {})", span.start),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<StackConfig, ConfigError> {
        StackConfig::parse(s, Path::new("stack.toml"))
    }

    #[test]
    fn empty_file_gives_the_seed_thresholds() {
        let c = parse("").unwrap();
        assert_eq!(c, StackConfig::default());
        assert_eq!(c.on_demand.scale_up.threshold, 80.0);
        assert_eq!(c.on_demand.scale_up.adjustment, 2);
        assert_eq!(c.on_demand.scale_down.threshold, 65.0);
        assert_eq!(c.on_demand.scale_down.cooldown, 900);
        assert_eq!(c.on_demand.period, 300);
        assert_eq!(c.spot.group.scale_up.threshold, 50.0);
        assert_eq!(c.spot.group.scale_down.threshold, 30.0);
        assert_eq!(c.spot.group.min, 1);
        assert_eq!(c.spot.max_price, None);
        assert_eq!(c.instances.boot_seconds, 75);
    }

    #[test]
    fn partial_spot_section_keeps_spot_defaults() {
        let c = parse("[spot]\nmax_price = 0.12\nmax = 20\n").unwrap();
        assert_eq!(c.spot.max_price, Some(0.12));
        assert_eq!(c.spot.group.max, 20);
        assert_eq!(c.spot.group.scale_up.threshold, 50.0);
    }

    #[test]
    fn shipped_example_parses_with_seed_defaults() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/stack.toml");
        let c = StackConfig::load(&path).unwrap();
        assert_eq!(c.on_demand, GroupPolicy::seed_on_demand());
        assert_eq!(c.spot.group, GroupPolicy::seed_spot());
        assert!(c.instances.user_data.is_some());
    }

    #[test]
    fn unknown_keys_and_bad_types_are_one_line_errors() {
        let e = parse("[spot]\nmax_prise = 1\n").unwrap_err().to_string();
        assert!(
            e.starts_with("stack.toml: unknown field `max_prise`"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        let e = parse("[on_demand]\nmin = \"one\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("invalid type"), "{e}");
    }
}
