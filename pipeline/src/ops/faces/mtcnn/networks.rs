//! The three networks, loaded with tract from their ONNX files, and how each is run.
//!
//! The proposal network is fully convolutional: it takes the picture at any size, and tract
//! runs it fastest with a plan made for one size (about three times faster than a plan for
//! any size), so a plan is made for each pyramid level's size the first time it is seen and
//! kept. The refining networks take fixed 24 x 24 and 48 x 48 windows, one at a time.

use super::picture::Picture;
use crate::error::PipelineError;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tract_onnx::prelude::*;

/// Sizes of proposal plans kept at most; past it the cache starts again (the pyramid of one
/// picture needs about a dozen).
const MAX_PROPOSAL_PLANS: usize = 256;

/// One output of a network: its shape and its values in row-major order.
pub struct Output {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// What a network said about one input.
pub struct Outputs(Vec<Output>);

impl Outputs {
    /// The output whose last dimension is `width` (4: box offsets, 2: face scores, 10:
    /// landmarks); `InternalError` when the network has none.
    pub fn with_width(&self, width: usize) -> Result<&Output, PipelineError> {
        self.0
            .iter()
            .find(|output| output.shape.last() == Some(&width))
            .ok_or_else(|| {
                PipelineError::internal(format!("face model: no output of width {width}"))
            })
    }
}

fn model_error(what: &'static str) -> impl Fn(TractError) -> PipelineError {
    move |error| PipelineError::internal(format!("face model ({what}): {error:#}"))
}

/// Reads an ONNX model, forgetting the output shapes it declares (tract infers them, and
/// the declared ones name dimensions the inference disagrees with).
fn read_model(bytes: &[u8], what: &'static str) -> Result<InferenceModel, PipelineError> {
    let mut model = tract_onnx::onnx()
        .model_for_read(&mut &*bytes)
        .map_err(model_error(what))?;
    let outputs = model.output_outlets().map_err(model_error(what))?.len();
    for output in 0..outputs {
        model
            .set_output_fact(output, InferenceFact::default())
            .map_err(model_error(what))?;
    }
    Ok(model)
}

/// `model` made runnable for one `[1, width, height, 3]` input.
fn plan_for(
    model: &InferenceModel,
    width: usize,
    height: usize,
    what: &'static str,
) -> Result<Arc<TypedRunnableModel>, PipelineError> {
    model
        .clone()
        .with_input_fact(0, f32::fact([1, width, height, 3]).into())
        .and_then(|model| model.into_optimized())
        .and_then(|model| model.into_runnable())
        .map_err(model_error(what))
}

/// Runs `plan` on `picture`.
fn run(
    plan: &Arc<TypedRunnableModel>,
    picture: &Picture,
    what: &'static str,
) -> Result<Outputs, PipelineError> {
    let input = Tensor::from_shape(
        &[1, picture.width, picture.height, 3],
        &picture.network_input(),
    )
    .map_err(model_error(what))?;
    let results = plan
        .run(tvec!(input.into_tvalue()))
        .map_err(model_error(what))?;
    results
        .iter()
        .map(|tensor| {
            let shape = tensor.shape().to_vec();
            let values = tensor
                .to_plain_array_view::<f32>()
                .map_err(model_error(what))?
                .iter()
                .copied()
                .collect();
            Ok(Output { shape, values })
        })
        .collect::<Result<_, _>>()
        .map(Outputs)
}

/// The proposal network (P-Net) and its plans by input size.
pub struct Proposal {
    model: InferenceModel,
    plans: Mutex<HashMap<(usize, usize), Arc<TypedRunnableModel>>>,
}

impl Proposal {
    pub fn load(bytes: &[u8]) -> Result<Proposal, PipelineError> {
        Ok(Proposal {
            model: read_model(bytes, "pnet")?,
            plans: Mutex::new(HashMap::new()),
        })
    }

    /// The network's outputs on `picture`, each cell of its grid column after column.
    pub fn run(&self, picture: &Picture) -> Result<Outputs, PipelineError> {
        let size = (picture.width, picture.height);
        let cached = self.lock().get(&size).cloned();
        let plan = match cached {
            Some(plan) => plan,
            None => {
                let plan = plan_for(&self.model, size.0, size.1, "pnet")?;
                let mut plans = self.lock();
                if plans.len() >= MAX_PROPOSAL_PLANS {
                    plans.clear();
                }
                plans.insert(size, Arc::clone(&plan));
                plan
            }
        };
        run(&plan, picture, "pnet")
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(usize, usize), Arc<TypedRunnableModel>>> {
        // A panic while holding the map cannot leave it half-written: keep using it.
        self.plans.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A refining network (R-Net, O-Net): fixed square windows of `side` pixels.
pub struct Refiner {
    pub side: usize,
    plan: Arc<TypedRunnableModel>,
    what: &'static str,
}

impl Refiner {
    pub fn load(bytes: &[u8], side: usize, what: &'static str) -> Result<Refiner, PipelineError> {
        let model = read_model(bytes, what)?;
        Ok(Refiner {
            side,
            plan: plan_for(&model, side, side, what)?,
            what,
        })
    }

    /// The network's outputs on one `side` x `side` window.
    pub fn run(&self, window: &Picture) -> Result<Outputs, PipelineError> {
        run(&self.plan, window, self.what)
    }
}
