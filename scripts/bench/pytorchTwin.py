"""PyTorch twin of the bench's MobileNet-like runs (scripts/bench/pytorchTwin.ts starts it).

Builds the network from the very model.json our engine trains (layer by layer: Conv2D, DepthwiseConv2D,
BatchNormalization, ReLU with a ceiling, global average pooling, Dense; the same head: dropout, then a
softmax Dense cut in at the same layer), takes the images our pipeline decoded (raw float32 NHWC files,
labels as int32), and times in this one process:

  inference      eval mode, no_grad, batches of `batch`, after one warm-up batch
  full           every layer trainable, Adam, shuffled batches; an epoch = training + validation + saving
                 the model's state (best-so-far) and a checkpoint (model + optimizer), as our runs do
  headOnly       backbone frozen (eval mode, no_grad), head trained for `headEpochs` epochs, validating and
                 saving the best head every epoch, timed end to end from building the model
  layouts        `nchw` (PyTorch's default) and `channels_last` (torch.channels_last memory format)

Prints one line `TWIN_RESULT <json>`. Padding: 'same' convolutions use padding k // 2 on both sides (the
same output shape and cost as TensorFlow's asymmetric 'same'; the values are not compared, only speed).
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn


def conv_layer(config, in_channels, depthwise):
    kernel = config["kernel_size"]
    stride = config["strides"]
    padding = (kernel[0] // 2, kernel[1] // 2) if config["padding"] == "same" else 0
    out_channels = in_channels * config.get("depth_multiplier", 1) if depthwise else config["filters"]
    layer = nn.Conv2d(
        in_channels,
        out_channels,
        tuple(kernel),
        tuple(stride),
        padding,
        groups=in_channels if depthwise else 1,
        bias=config.get("use_bias", True),
    )
    activation = config.get("activation", "linear")
    if activation == "relu":
        return nn.Sequential(layer, nn.ReLU()), out_channels
    if activation != "linear":
        raise ValueError(f"activation {activation} is not in the twin")
    return layer, out_channels


def backbone(layers, cut, channels):
    """The layers up to and including `cut`, as one nn.Sequential; returns it and its output channels."""
    modules = []
    for layer in layers:
        kind, config = layer["class_name"], layer["config"]
        if kind == "InputLayer":
            continue
        if kind == "Conv2D":
            module, channels = conv_layer(config, channels, False)
        elif kind == "DepthwiseConv2D":
            module, channels = conv_layer(config, channels, True)
        elif kind == "BatchNormalization":
            module = nn.BatchNorm2d(channels, eps=config["epsilon"], momentum=1 - config["momentum"])
        elif kind == "ReLU":
            ceiling = config.get("max_value")
            module = nn.ReLU() if ceiling is None else nn.Hardtanh(0.0, float(ceiling))
        elif kind == "GlobalAveragePooling2D":
            module = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        else:
            raise ValueError(f"layer class {kind} is not in the twin")
        modules.append(module)
        if config["name"] == cut:
            return nn.Sequential(*modules), channels
    raise ValueError(f"cut layer {cut} not found")


def load(spec, split):
    files = spec["data"][split]
    height, width, channels = spec["data"]["shape"]
    images = np.fromfile(files["images"], dtype=np.float32).reshape(-1, height, width, channels)
    labels = np.fromfile(files["labels"], dtype=np.int32).astype(np.int64)
    # NHWC → NCHW once, outside every timing.
    return torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))), torch.from_numpy(labels)


def build(spec, layout):
    torch.manual_seed(1)
    layers = spec["model"]["layers"]
    base, features = backbone(layers, spec["cut"], spec["data"]["shape"][2])
    head = nn.Sequential(nn.Dropout(spec["dropout"]), nn.Linear(features, spec["classes"]))
    model = nn.Sequential(base, head)
    if layout == "channels_last":
        model = model.to(memory_format=torch.channels_last)
    return model, base, head


def as_layout(x, layout):
    return x.contiguous(memory_format=torch.channels_last) if layout == "channels_last" else x


def batches(count, batch, generator=None):
    order = torch.randperm(count, generator=generator) if generator is not None else torch.arange(count)
    for start in range(0, count, batch):
        yield order[start : start + batch]


def validate(model, x, y, batch, layout):
    model.eval()
    loss = nn.CrossEntropyLoss(reduction="sum")
    total = 0.0
    with torch.no_grad():
        for index in batches(len(y), batch):
            total += loss(model(as_layout(x[index], layout)), y[index]).item()
    return total / len(y)


def inference(spec, x, layout):
    model, _, _ = build(spec, layout)
    model.eval()
    batch = spec["batch"]
    sample = as_layout(x[:batch], layout)
    with torch.no_grad():
        model(sample)
        start = time.perf_counter()
        for _ in range(spec["inferenceBatches"]):
            model(sample)
        seconds = time.perf_counter() - start
    return batch * spec["inferenceBatches"] / seconds


def full_fine_tuning(spec, data, layout, folder):
    (xt, yt), (xv, yv) = data
    model, _, _ = build(spec, layout)
    optimizer = torch.optim.Adam(model.parameters(), lr=spec["learningRate"])
    loss = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(1)
    best = float("inf")
    epochs = []
    for _ in range(spec["fullEpochs"]):
        started = time.perf_counter()
        model.train()
        for index in batches(len(yt), spec["batch"], generator):
            optimizer.zero_grad(set_to_none=True)
            loss(model(as_layout(xt[index], layout)), yt[index]).backward()
            optimizer.step()
        trained = time.perf_counter()
        val_loss = validate(model, xv, yv, spec["batch"], layout)
        if val_loss < best:
            best = val_loss
            torch.save(model.state_dict(), os.path.join(folder, "best.pt"))
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, os.path.join(folder, "checkpoint.pt"))
        ended = time.perf_counter()
        epochs.append({"trainS": trained - started, "epochS": ended - started})
    return epochs


def head_only(spec, data, layout, folder):
    (xt, yt), (xv, yv) = data
    started = time.perf_counter()
    model, base, head = build(spec, layout)
    for parameter in base.parameters():
        parameter.requires_grad_(False)
    optimizer = torch.optim.Adam(head.parameters(), lr=spec["learningRate"])
    loss = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(1)
    best = float("inf")
    for _ in range(spec["headEpochs"]):
        base.eval()
        head.train()
        for index in batches(len(yt), spec["batch"], generator):
            with torch.no_grad():
                features = base(as_layout(xt[index], layout))
            optimizer.zero_grad(set_to_none=True)
            loss(head(features), yt[index]).backward()
            optimizer.step()
        val_loss = validate(model, xv, yv, spec["batch"], layout)
        if val_loss < best:
            best = val_loss
            torch.save(head.state_dict(), os.path.join(folder, "best-head.pt"))
    return time.perf_counter() - started


def main():
    with open(sys.argv[1]) as file:
        spec = json.load(file)
    torch.set_num_threads(spec["threads"])
    data = (load(spec, "train"), load(spec, "val"))
    result = {
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "trainCount": len(data[0][1]),
        "valCount": len(data[1][1]),
        "layouts": {},
    }
    with tempfile.TemporaryDirectory(prefix="finetune-twin-") as folder:
        for layout in spec["layouts"]:
            result["layouts"][layout] = {
                "inferenceImagesPerSecond": inference(spec, data[0][0], layout),
                "full": full_fine_tuning(spec, data, layout, folder),
                "headOnlyWallS": head_only(spec, data, layout, folder),
            }
    print("TWIN_RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
