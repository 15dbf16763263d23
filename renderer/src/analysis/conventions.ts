/** The counting conventions, stated once; the UI and the CLI print this text. */
export const CONVENTIONS = [
  'Parameters: every weight, bias and BatchNorm value. Total params follow Keras: BatchNorm moving mean and ' +
    'variance count as non-trainable parameters (2 per channel). PyTorch keeps them as buffers and does not count ' +
    'them: that is "params without BN statistics". Trainable = kernels, biases, BN gamma/beta.',
  'MACs: multiply-accumulates for one image, counted for conv, depthwise, separable and dense layers only ' +
    '(H_out·W_out·K·K·C_in/groups·C_out, N_in·N_out). Bias adds, BatchNorm, activations, pooling and element-wise ' +
    'adds are not counted. "FLOPs" means MACs in some papers (e.g. ResNet) and 2 × MACs in others (TF profiler); ' +
    'FLOPs here = 2 × MACs.',
  'Receptive field (Araujo et al., Distill 2019), per axis: size r, jump j (input pixels between neighbouring ' +
    'units) and start (centre of unit 0 in input pixel indices; negative = in the padding). Where branches meet ' +
    'the largest field is reported and every path is kept. "Effective padding" in Distill = (r − 1)/2 − start.',
].join('\n');
