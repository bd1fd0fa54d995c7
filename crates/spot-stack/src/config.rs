//! The stack configuration file (TOML). Every threshold defaults to the
//! values of the Mind Candy write-up the tool comes from ("Cutting the AWS
//! bill with spot instances"), so an empty `[on_demand]` / `[spot]` section
//! gives that stack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::advisor::Band;

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
    pub fallback: Fallback,
    pub interruption: Interruption,
    /// A target group the stack creates (and all groups register with).
    pub target_group: Option<TargetGroup>,
    pub mixed: MixedPolicy,
    pub simulate: SimulateSettings,
}

impl Default for StackConfig {
    fn default() -> Self {
        Self {
            description: "App tier on spot instances with on-demand fallback (spot-stack)".into(),
            name: None,
            instances: Instances::default(),
            on_demand: GroupPolicy::seed_on_demand(),
            spot: SpotPolicy::default(),
            fallback: Fallback::default(),
            interruption: Interruption::default(),
            target_group: None,
            mixed: MixedPolicy::default(),
            simulate: SimulateSettings::default(),
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
    /// Instance types, most preferred first. The seed strategy launches the
    /// first only; the others draw spot capacity from all of them (several
    /// pools: a shortage of one type does not empty the tier).
    pub instance_types: Vec<String>,
    /// Capacity units per instance type (default 1 each): sizes and
    /// adjustments then count units, and the fallback alarm reads the
    /// groups' capacity-unit metrics.
    pub weights: BTreeMap<String, u32>,
    /// Attribute-based instance selection for the groups' overrides instead
    /// of the type list (which still names the types `savings` and
    /// `simulate` price).
    pub requirements: Option<Requirements>,
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
    /// The groups' CloudWatch group metrics (1-minute): the fallback alarm
    /// reads them.
    pub group_metrics: bool,
}

impl Instances {
    /// Capacity units of `instance_type` (1 unless weighted).
    pub fn weight(&self, instance_type: &str) -> u32 {
        self.weights.get(instance_type).copied().unwrap_or(1)
    }

    /// Whether any type is weighted (capacity units differ from instances).
    pub fn weighted(&self) -> bool {
        !self.weights.is_empty()
    }
}

/// `[instances.requirements]`: EC2's attribute-based instance selection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Requirements {
    pub vcpu: Bounds,
    pub memory_mib: Bounds,
    /// "current" and/or "previous".
    pub instance_generations: Vec<String>,
    /// "included", "excluded" or "required".
    pub burstable: String,
    /// "intel", "amd", "amazon-web-services" (empty: any).
    pub cpu_manufacturers: Vec<String>,
    /// Patterns such as "c5*" that limit the choice (empty: any).
    pub allowed_types: Vec<String>,
}

impl Default for Requirements {
    fn default() -> Self {
        Self {
            vcpu: Bounds { min: 2, max: None },
            memory_mib: Bounds {
                min: 4096,
                max: None,
            },
            instance_generations: vec!["current".into()],
            burstable: "excluded".into(),
            cpu_manufacturers: Vec::new(),
            allowed_types: Vec::new(),
        }
    }
}

/// An inclusive range with an optional top.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounds {
    pub min: u32,
    pub max: Option<u32>,
}

/// `[fallback]`: on-demand capacity that covers what spot cannot launch,
/// driven by the spot group's capacity metrics rather than by CPU.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fallback {
    pub enabled: bool,
    /// Seconds per alarm period (10, 30 or a multiple of 60).
    pub period: u32,
    /// Consecutive periods a shortfall (or a surplus) must last.
    pub evaluation_periods: u32,
    /// Largest fallback group (default: the spot side's max).
    pub max: Option<u32>,
}

impl Default for Fallback {
    fn default() -> Self {
        Self {
            enabled: true,
            period: 60,
            evaluation_periods: 2,
            max: None,
        }
    }
}

/// `[interruption]`: drain an instance before it goes, within a spot
/// instance's two-minute notice.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Interruption {
    /// A termination lifecycle hook on every group of the stack.
    pub enabled: bool,
    /// The hook's heartbeat timeout: how long a terminating instance may
    /// drain (30..=7200; at most 110 to fit the two-minute notice).
    pub drain_seconds: u32,
}

impl Default for Interruption {
    fn default() -> Self {
        Self {
            enabled: false,
            drain_seconds: 90,
        }
    }
}

/// `[target_group]`: a target group the stack creates, so its
/// deregistration delay fits the drain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetGroup {
    pub vpc_id: String,
    #[serde(default = "default_port")]
    pub port: u16,
    #[serde(default = "default_protocol")]
    pub protocol: String,
    #[serde(default = "default_health_check_path")]
    pub health_check_path: String,
    /// Seconds the load balancer lets requests in flight finish.
    #[serde(default = "default_deregistration_delay")]
    pub deregistration_delay: u32,
}

fn default_port() -> u16 {
    80
}

fn default_protocol() -> String {
    "HTTP".into()
}

fn default_health_check_path() -> String {
    "/".into()
}

fn default_deregistration_delay() -> u32 {
    60
}

/// `[simulate]`: the capacity model's assumptions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SimulateSettings {
    /// Seeds the random interruptions and price drift (`--seed` overrides).
    pub seed: u64,
    /// Spot Instance Advisor band per instance type.
    pub bands: BTreeMap<String, Band>,
    /// The band of a type not listed.
    pub default_band: Band,
    /// Spot price as a share of the on-demand price, around which each
    /// pool's price drifts slowly (a few percent every few hours).
    pub spot_price_ratio: f64,
}

impl Default for SimulateSettings {
    fn default() -> Self {
        Self {
            seed: 1,
            bands: BTreeMap::new(),
            default_band: Band::From5To10,
            spot_price_ratio: 0.4,
        }
    }
}

impl SimulateSettings {
    pub fn band(&self, instance_type: &str) -> Band {
        self.bands
            .get(instance_type)
            .copied()
            .unwrap_or(self.default_band)
    }
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
            weights: BTreeMap::new(),
            requirements: None,
            group_metrics: true,
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpotPolicy {
    #[serde(flatten)]
    pub group: GroupPolicy,
    /// USD per instance-hour. Unset (the default, as AWS advises) caps the
    /// price at the on-demand price, which is what the write-up's "bid price
    /// = on-demand price" did.
    pub max_price: Option<f64>,
    /// How the spot group picks pools (not the seed strategy's).
    pub allocation_strategy: String,
    /// Replace instances at elevated risk before their notice comes.
    pub capacity_rebalance: bool,
}

impl Default for SpotPolicy {
    fn default() -> Self {
        Self {
            group: GroupPolicy::seed_spot(),
            max_price: None,
            allocation_strategy: PRICE_CAPACITY_OPTIMIZED.into(),
            capacity_rebalance: true,
        }
    }
}

/// AWS's recommended spot allocation strategy.
pub const PRICE_CAPACITY_OPTIMIZED: &str = "price-capacity-optimized";

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
            allocation_strategy: s
                .allocation_strategy
                .unwrap_or_else(|| PRICE_CAPACITY_OPTIMIZED.into()),
            capacity_rebalance: s.capacity_rebalance.unwrap_or(true),
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
    allocation_strategy: Option<String>,
    capacity_rebalance: Option<bool>,
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
            spot_allocation_strategy: PRICE_CAPACITY_OPTIMIZED.into(),
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
    fallback: Fallback,
    #[serde(default)]
    interruption: Interruption,
    target_group: Option<TargetGroup>,
    #[serde(default)]
    mixed: MixedPolicy,
    #[serde(default)]
    simulate: SimulateSettings,
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
            fallback: raw.fallback,
            interruption: raw.interruption,
            target_group: raw.target_group,
            mixed: raw.mixed,
            simulate: raw.simulate,
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

    /// The fallback group's largest size: the configured one, else the spot
    /// side's max (the spot group's, or the mixed group's).
    pub fn fallback_max(&self, mixed: bool) -> u32 {
        self.fallback.max.unwrap_or(if mixed {
            self.mixed_bounds().1
        } else {
            self.spot.group.max
        })
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
    fn todays_sections_parse_with_their_defaults() {
        let c = parse("").unwrap();
        assert!(c.fallback.enabled);
        assert_eq!((c.fallback.period, c.fallback.evaluation_periods), (60, 2));
        assert!(!c.interruption.enabled);
        assert_eq!(c.spot.allocation_strategy, "price-capacity-optimized");
        assert!(c.spot.capacity_rebalance && c.instances.group_metrics);
        assert_eq!(c.fallback_max(false), 12);
        assert_eq!(c.fallback_max(true), 24);
        let c = parse(
            "[instances]\nweights = { \"c5.xlarge\" = 2 }\n[instances.requirements]\nvcpu = { min = 2, max = 4 }\n\
             [target_group]\nvpc_id = \"vpc-1\"\n[simulate]\nbands = { \"c5.large\" = \">20%\" }\n",
        )
        .unwrap();
        assert_eq!(c.instances.weight("c5.xlarge"), 2);
        assert_eq!(c.instances.weight("c5.large"), 1);
        assert_eq!(c.instances.requirements.unwrap().vcpu.max, Some(4));
        assert_eq!(c.target_group.unwrap().deregistration_delay, 60);
        assert_eq!(c.simulate.band("c5.large"), Band::Over20);
        assert_eq!(c.simulate.band("m5.large"), Band::From5To10);
        let e = parse("[simulate]\nbands = { \"c5.large\" = \"often\" }\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not a Spot Instance Advisor band"), "{e}");
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
