"""Row 19: the input refiner. A temporal convolution over one body's recipe window [N, 3, 64, 25] that adds
a correction to its input; trained (refiner_train.py) to map the camera-path estimate of a training window
to the recorded window."""
import torch
from torch import nn

# NTU-25 left / right joints: a person seen from behind comes back from MediaPipe with the sides swapped
LEFT = [4, 5, 6, 7, 21, 22, 12, 13, 14, 15]
RIGHT = [8, 9, 10, 11, 23, 24, 16, 17, 18, 19]
SWAP = list(range(25))
for a, b in zip(LEFT, RIGHT, strict=True):
    SWAP[a], SWAP[b] = b, a


def mirror(y: torch.Tensor) -> torch.Tensor:
    """[N, 3, T, 25] -> the mirror image: x negated, sides swapped."""
    y = y[..., SWAP].clone()
    y[:, 0] = -y[:, 0]
    return y


class Refiner(nn.Module):
    def __init__(self, channels: int = 128, blocks: int = 4) -> None:
        super().__init__()
        self.inp = nn.Conv1d(75, channels, 1)
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv1d(channels, channels, 5, padding=2 * 2 ** i, dilation=2 ** i),
                          nn.BatchNorm1d(channels), nn.GELU(), nn.Conv1d(channels, channels, 1))
            for i in range(blocks)])
        self.out = nn.Conv1d(channels, 75, 1)
        nn.init.zeros_(self.out.weight)  # starts as the identity
        nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, t, v = x.shape
        z = self.inp(x.permute(0, 1, 3, 2).reshape(n, c * v, t))
        for block in self.blocks:
            z = z + block(z)
        return x + self.out(z).reshape(n, c, v, t).permute(0, 1, 3, 2)
