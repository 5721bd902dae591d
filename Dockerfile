# The supervisor host as a container image (used by docker-compose.yml). Build: docker build -t atproto-supervisor .
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY . .
RUN dotnet publish src/Supervisor/Supervisor.csproj -c Release -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The data folder (SQLite journal, generated admin token and token key) lives in a volume.
ENV SUPERVISOR_DATA_DIR=/data
VOLUME /data
EXPOSE 5080
ENTRYPOINT ["dotnet", "Supervisor.dll"]
CMD ["run", "--urls", "http://0.0.0.0:5080"]
