"""The compute benchmark's models in PyTorch, for `npm run bench -- gpu`.

The same layers as bench/compute-models.ts (MLP 784-256-256-10 at batch 128;
the Fashion-MNIST CNN conv3x3x32, pool, conv3x3x64, pool, dense 128, dense 10
at batch 64), trained with plain SGD on softmax cross-entropy, one step being
forward, backward and update, timed with the GPU synchronized.
Usage: python3 bench/torch-step.py MODEL STEPS [WARMUP]. Prints one JSON line:
{"ms": ..., "device": ...} or {"error": ...}.
"""
import json
import sys
import time


def model_of(name, torch):
    nn = torch.nn
    if name == "mlp":
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10)), 128, (784,)
    return (
        nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(7 * 7 * 64, 128), nn.ReLU(), nn.Linear(128, 10),
        ),
        64,
        (1, 28, 28),
    )


def main():
    name, steps = sys.argv[1], int(sys.argv[2])
    warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    try:
        import torch
    except ImportError:
        print(json.dumps({"error": "PyTorch is not installed"}))
        return
    if not torch.cuda.is_available():
        print(json.dumps({"error": "PyTorch sees no CUDA GPU"}))
        return
    dev = torch.device("cuda")
    model, batch, shape = model_of(name, torch)
    model = model.to(dev)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand((batch, *shape), device=dev)
    y = torch.randint(0, 10, (batch,), device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        # As the tfjs loop reads its loss back each step.
        return loss.item()

    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) * 1000 / steps
    print(json.dumps({"ms": ms, "device": torch.cuda.get_device_name(0), "torch": torch.__version__}))


main()
