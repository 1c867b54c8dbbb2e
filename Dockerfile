# A small image of deployer: the static (musl) binary and nothing else. The build context is a
# folder holding just that binary, so building pulls nothing (`FROM scratch` needs no registry):
#
#   cargo build --locked --release --target x86_64-unknown-linux-musl
#   mkdir -p target/image && cp target/x86_64-unknown-linux-musl/release/deployer target/image/
#   docker build -f Dockerfile -t deployer target/image
#   docker run --rm -v "$PWD:/work" deployer validate deploy.yml -i inventories/staging
#
# .github/workflows/docker.yml does the same for every push. For runs over SSH, mount a folder
# holding known_hosts at /root/.ssh, and pass the key in DEPLOYER_SSH_PRIVATE_KEY or mount it too.
FROM scratch
COPY deployer /usr/local/bin/deployer
ENV HOME=/root PATH=/usr/local/bin
WORKDIR /work
ENTRYPOINT ["deployer"]
CMD ["--help"]
