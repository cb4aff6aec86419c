"""The lessons' self-check questions: the answer key and why each option is right or wrong.

Each lesson's *Self-check* section asks its questions in markdown (options a, b, c) and
checks the learner's answer with :func:`whetstone_lab.lessons.check`, which reads this
table. Pure data, no imports.
"""

from __future__ import annotations

__all__ = ["QUESTIONS"]

#: question id → {"right": option, "why": {option: why it is right or wrong}}. The ids are
#: "<lesson>.<n>", e.g. "02.1"; a lesson's markdown lists the same options.
QUESTIONS: dict[str, dict] = {
    "00.1": {"right": "b", "why": {
        "a": "at sharpness 1 the ramp has become a step: there is nothing between 0 and 1 "
             "any more.",
        "b": "fully sharp, the activation is a step, 1 iff its input is at least 0.5; "
             "`spikes.assert_binary` checked every output on the test set.",
        "c": "the threshold is inclusive: an input of exactly 0.5 gives 1, not 0.5.",
    }},
    "00.2": {"right": "b", "why": {
        "a": "dividing every class's score by the same T keeps their order: the nearest "
             "codeword still wins.",
        "b": "T only scales the logits: the probabilities get less confident, so the loss "
             "keeps pushing the output neurons towards a wider lead; the winner is the same.",
        "c": "the decoder sits after the last spiking layer; T acts on training only, "
             "through the loss.",
    }},
    "00.3": {"right": "b", "why": {
        "a": "a silent neuron (output 0) is drawn white, not grey.",
        "b": "grey is a graded output, strictly between 0 and 1: the neuron's input lies on "
             "the ramp. A neuron whose input is beyond the ramp's knees is black or white "
             "even at sharpness 0, so grey measures saturation, not sharpness.",
        "c": "the picture shows outputs, not the sharpness: a layer at sharpness 0.5 can "
             "still be all black and white if its inputs are far from 0.5.",
    }},
    "01.1": {"right": "b", "why": {
        "a": "a slope of 1 is the ramp at s = 0 (up to λ); the band shrinks as s grows.",
        "b": "inside the band the slope is 1/(1 − s + λ), which grows as the band narrows.",
        "c": "the slope is 0 only outside the band, or everywhere once fully sharp.",
    }},
    "01.2": {"right": "a", "why": {
        "a": "the layers above learned to read graded values; thresholded, they receive "
             "only 0 or 1 and the errors add up layer by layer.",
        "b": "thresholding leaves every weight as it is; only the activations change.",
        "c": "the lesson's table shows the thresholded network far below both others.",
    }},
    "01b.1": {"right": "b", "why": {
        "a": "layer 0 is a step after epoch 10 (5 float epochs, then 5 steps).",
        "b": "5 float epochs, 5 steps for layer 0 (epochs 6–10), 5 for layer 1 (11–15).",
        "c": "epoch 20 is when the last layer, layer 2, becomes a step.",
    }},
    "01b.2": {"right": "c", "why": {
        "a": "the sharpness is a non-trainable variable: the callback sets it, the "
             "optimizer never touches it.",
        "b": "the key is a constant of the model, saved with it and never trained.",
        "c": "only the Dense kernels and biases get gradients; sharpness and key are fixed.",
    }},
    "02.1": {"right": "a", "why": {
        "a": "its codeword is a single neuron: when it never fires, the class can win only "
             "a tie, which goes to the lower class — a dead class.",
        "b": "the other neurons belong to other classes; nothing in a one-hot code can "
             "stand in for the dead one.",
        "c": "a dead neuron's input lies below the ramp, where the gradient is 0 at any "
             "temperature (exercise 3).",
    }},
    "02.2": {"right": "a", "why": {
        "a": "at T = 1 a lead of a couple of votes already drives the loss near 0, so the "
             "output neurons stop learning; a binary output then often lies at the same "
             "distance from two codewords.",
        "b": "the decoder does not round: it is a softmax of the votes divided by T.",
        "c": "ties are broken the same way at every temperature: towards the lower class.",
    }},
    "03.1": {"right": "b", "why": {
        "a": "pooling does not add: a sum of spikes would be a count, not a spike.",
        "b": "the maximum of 0s and 1s is 1 iff any neuron of the window fired: an OR.",
        "c": "the mean of a window would be a graded value, which a spike cannot carry.",
    }},
    "03.2": {"right": "a", "why": {
        "a": "in inference BatchNorm is an affine map, which folds exactly into the layer "
             "before it; only a decision within float32 rounding of 0.5 could flip.",
        "b": "the folded network computes the same pre-activations up to rounding; the "
             "lesson's check counts the flipped spikes.",
        "c": "the decoder's temperature plays no part in folding.",
    }},
    "04.1": {"right": "b", "why": {
        "a": "bottom-up, the output layer sharpens last: at that moment every layer was at "
             "sharpness 0.",
        "b": "the bounded ReLU saturates: an input below its lower knee gives exactly 0, "
             "above its upper knee exactly 1. Binary outputs measure saturation, not "
             "sharpness.",
        "c": "the histogram counts exact 0s and 1s correctly; lesson 00's grey pictures "
             "show the same effect.",
    }},
    "04.2": {"right": "a", "why": {
        "a": "an epoch whose loss is at least 15 % above the reference pauses it; the next "
             "plateau resumes it.",
        "b": "it watches a loss (the training loss by default, `monitor=\"val_loss\"` in "
             "exercise 1), not an accuracy.",
        "c": "that is the Simple schedule's timetable; the Adaptive one has none.",
    }},
    "04.3": {"right": "a", "why": {
        "a": "2 bits, symmetric, give 3 values per layer (−a, 0, a): most weights round to "
             "0 and the neurons lose their inputs.",
        "b": "the spikes stay exactly binary; only the thresholds' inputs move.",
        "c": "rounding is deterministic; the same weights give the same accuracy.",
    }},
    "05.1": {"right": "b", "why": {
        "a": "64 is the number of neurons; each can be 0 or 1 independently.",
        "b": "64 binary neurons write one of 2^64 codes per image.",
        "c": "fully sharp, the code neurons spike: bits, not real numbers.",
    }},
    "05.2": {"right": "a", "why": {
        "a": "a graded code value carries more than a bit; the read-out was trained on "
             "spikes, yet still profits from the extra information.",
        "b": "the network ends fully sharp; partial sharpness is only where the sweep "
             "looks.",
        "c": "the read-out is a sigmoid on the host, not a spiking layer.",
    }},
    "06.1": {"right": "a", "why": {
        "a": "most pixels are background: labelling everything background scores a high "
             "pixel accuracy but a low mean IoU.",
        "b": "speed plays no part; both scores are quick to compute.",
        "c": "pixel accuracy is just as easy on decoded spikes.",
    }},
    "06.2": {"right": "a", "why": {
        "a": "the benchmark measured T = 2 and T = 4 on digit scenes and both did worse "
             "(benchmarks/results/segmentation.md).",
        "b": "the decoder is the same per pixel as per image; any T works there.",
        "c": "the decoder runs on the host and T never changes which class wins.",
    }},
    "07.1": {"right": "b", "why": {
        "a": "with t = 0.5 a pre-activation of exactly 0.5 would not fire in NIR, but it "
             "spikes in Whetstone (≥).",
        "b": "the largest float32 below 0.5: v > t then holds exactly when v ≥ 0.5.",
        "c": "inputs between 0.49 and 0.5 would fire in NIR and not in Keras.",
    }},
    "07.2": {"right": "b", "why": {
        "a": "every weight once per inference is what a dense float network costs (dense "
             "MACs), the comparison.",
        "b": "an event is one spike reaching one target; a silent input costs nothing.",
        "c": "a spike costs one operation per target it reaches, its fan-out.",
    }},
    "08.1": {"right": "a", "why": {
        "a": "a saturated bounded ReLU already outputs exactly 0 or 1, where the step changes "
             "nothing; a convolution's neurons see few inputs and many sit on the ramp, near "
             "0.5, where the step flips them unless sharpening taught the network to live "
             "with it.",
        "b": "the step is the same for every layer: a conv neuron fires iff Σ w·x + b ≥ 0.5 "
             "like a dense one.",
        "c": "the float twin and the Whetstone network of each kind train for the same "
             "epochs; the difference lies in how binary the twin already is.",
    }},
    "08.2": {"right": "b", "why": {
        "a": "the first layer's weights live on the chip like the others; what differs is "
             "its input.",
        "b": "the first layer reads real-valued pixels, not spikes: each non-zero pixel is "
             "multiplied by its weights, so its operations are multiply-accumulates.",
        "c": "size has nothing to do with it: the counts already say how many operations "
             "each layer makes.",
    }},
    "08.3": {"right": "b", "why": {
        "a": "the per-batch schedule runs inside the compiled train step; no callback sends "
             "anything after a batch.",
        "b": "the sharpness is a variable created in the strategy's scope, mirrored like the "
             "weights, and every replica's train step updates its copy alike.",
        "c": "callbacks run once, outside the replicas, not on each device.",
    }},
}
